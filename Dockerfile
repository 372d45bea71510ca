# One image for all three services; docker-compose.yml picks the binary per container.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p auth-service -p task-service -p gateway \
 && mkdir -p /out/bin /out/web \
 && cp target/release/auth-service target/release/task-service target/release/gateway \
       target/release/grpc-health-probe /out/bin/ \
 && if [ -d web/dist ]; then cp -r web/dist/. /out/web/; fi

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/todo --create-home todo
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/web/ /srv/web/
USER todo
WORKDIR /var/lib/todo
ENV RUST_LOG=info DATA_DIR=/var/lib/todo WEB_DIR=/srv/web
CMD ["gateway"]
