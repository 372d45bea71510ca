# One build, one small image per service: each final stage holds only its own
# binary and the health probe (the gateway's has no argon2, sqlx or JWT code,
# and no secrets to hold). docker-compose.yml picks the stage per container:
#   docker build --target gateway -t todo-gateway .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p auth-service -p task-service -p gateway -p service-runtime -p todo-stack --bins \
 && mkdir -p /out \
 && cp target/release/auth-service target/release/task-service target/release/gateway \
       target/release/grpc-health-probe target/release/todo-stack /out/

FROM debian:bookworm-slim AS base
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/todo --create-home todo
COPY --from=build /out/grpc-health-probe /usr/local/bin/
USER todo
WORKDIR /var/lib/todo
ENV RUST_LOG=info DATA_DIR=/var/lib/todo

FROM base AS auth
COPY --from=build /out/auth-service /usr/local/bin/
CMD ["auth-service"]

FROM base AS tasks
COPY --from=build /out/task-service /usr/local/bin/
CMD ["task-service"]

# `todo-stack certs`: the development CA and service certificates for
# mutual TLS between the auth and task services (docker-compose.yml's `certs`).
FROM base AS certs
USER root
# An empty named volume mounted here takes this directory's owner and mode.
RUN install -d -o todo -g todo -m 0700 /certs
USER todo
COPY --from=build /out/todo-stack /usr/local/bin/
CMD ["todo-stack", "certs", "--out", "/certs", "--keep-existing"]

FROM base AS gateway
# The web app (web/dist) is built into the gateway's binary.
COPY --from=build /out/gateway /usr/local/bin/
CMD ["gateway"]
