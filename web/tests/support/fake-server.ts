// The auth and task services in memory, served by Connect-ES's router
// transport, so clients, interceptors and views run their real code paths.
// Tokens are plain strings: "access-N" and "refresh-N".
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, createRouterTransport, type HandlerContext, type Interceptor, type Transport } from "@connectrpc/connect";
import { AuthService } from "../../src/gen/todo/auth/v1/auth_pb";
import { type Task, TaskSchema, TaskService } from "../../src/gen/todo/task/v1/task_pb";
import { type Tokens } from "../../src/session";

export interface Seen {
  method: string;
  authorization: string | null;
}

export class FakeServer {
  /** Access tokens the task service accepts. */
  readonly live = new Set(["access-1"]);
  /** Refresh tokens the auth service will trade, once each. */
  readonly refreshable = new Set(["refresh-1"]);
  readonly seen: Seen[] = [];
  tasks: Task[] = [];
  /** When set, CreateTask fails with it. */
  createError: ConnectError | undefined;
  /** When set, the server is unreachable. */
  down = false;
  /** When set, the task service refuses every access token, even fresh ones. */
  refuseAccessTokens = false;
  private issued = 1;

  /** Every session ends at once, as after a logout elsewhere or a password change. */
  endSessions(): void {
    this.live.clear();
    this.refreshable.clear();
  }

  transport(interceptors: Interceptor[] = []): Transport {
    return createRouterTransport((router) => this.routes(router), { transport: { interceptors } });
  }

  private routes(router: ConnectRouter): void {
    router.service(AuthService, {
      login: (_request, context) => {
        this.note("Login", context);
        return this.issue();
      },
      refresh: (request, context) => {
        this.note("Refresh", context);
        if (!this.refreshable.delete(request.refreshToken)) throw new ConnectError("refresh token is not valid", Code.Unauthenticated);
        return this.issue();
      },
      logout: (_request, context) => {
        this.authenticate("Logout", context);
        return {};
      },
    });
    router.service(TaskService, {
      listTasks: (_request, context) => {
        this.authenticate("ListTasks", context);
        return { tasks: this.tasks, totalSize: this.tasks.length };
      },
      createTask: (request, context) => {
        this.authenticate("CreateTask", context);
        if (this.createError) throw this.createError;
        const task = create(TaskSchema, { title: request.task?.title, id: `task-${this.tasks.length + 1}`, etag: "v1", createTime: timestampNow(), updateTime: timestampNow() });
        this.tasks = [task, ...this.tasks];
        return { task };
      },
      updateTask: (request, context) => {
        this.authenticate("UpdateTask", context);
        return { task: request.task };
      },
      watchTasks: (_request, context) => this.watch(context),
    });
  }

  private async *watch(context: HandlerContext) {
    this.authenticate("WatchTasks", context);
    yield* [];
    // Open until the client leaves.
    await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
  }

  private note(method: string, context: HandlerContext): void {
    this.seen.push({ method, authorization: context.requestHeader.get("authorization") });
    if (this.down) throw new ConnectError("upstream connect error", Code.Unavailable);
  }

  private authenticate(method: string, context: HandlerContext): void {
    this.note(method, context);
    const token = context.requestHeader.get("authorization")?.replace(/^Bearer /, "") ?? "";
    if (this.refuseAccessTokens || !this.live.has(token)) throw new ConnectError("access token is not valid", Code.Unauthenticated);
  }

  private issue() {
    this.issued += 1;
    const n = this.issued;
    this.live.add(`access-${n}`);
    this.refreshable.add(`refresh-${n}`);
    return { accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn: 900n, user: { email: "ada@example.com" } };
  }
}

/** Tokens as a login gave them: access-1 and refresh-1, valid for `validForMs` from `now`. */
export function signedIn(validForMs = 15 * 60_000, now = Date.now()): Tokens {
  return { accessToken: "access-1", refreshToken: "refresh-1", expiresAt: now + validForMs, email: "ada@example.com" };
}
