// The auth and task services in memory, served by Connect-ES's router
// transport, so clients, interceptors and views run their real code paths.
// Tokens are plain strings: "access-N" and "refresh-N".
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, createRouterTransport, type HandlerContext, type Interceptor, type Transport } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb";
import { AuthService, SecurityEvent_Kind } from "../../src/gen/todo/auth/v1/auth_pb";
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
  /** The account's password, email state and other sessions, for the account's calls. */
  password = "correct horse battery";
  emailVerified = false;
  otherSessions = ["session-phone"];
  /** The one code the reset and verification emails carry. */
  readonly code = "K7Q29X";
  /** Login refuses an unverified address, as with REQUIRE_VERIFIED_EMAIL. */
  requireVerified = false;
  /** Set once DeleteAccount succeeded. */
  deleted = false;
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
      login: (request, context) => {
        this.note("Login", context);
        if (this.deleted || request.password !== this.password) throw new ConnectError("incorrect email or password", Code.Unauthenticated);
        if (this.requireVerified && !this.emailVerified) {
          throw new ConnectError("your email address is not verified yet", Code.FailedPrecondition, undefined, [
            { desc: ErrorInfoSchema, value: { reason: "EMAIL_NOT_VERIFIED", domain: "auth.todo" } },
          ]);
        }
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
      getCurrentUser: (_request, context) => {
        this.authenticate("GetCurrentUser", context);
        return { user: this.user() };
      },
      listSessions: (_request, context) => {
        this.authenticate("ListSessions", context);
        const mine = { id: "session-here", current: true, userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36", clientAddress: "127.0.0.1", lastUseTime: timestampNow() };
        const others = this.otherSessions.map((id) => ({ id, userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1", clientAddress: "203.0.113.7", lastUseTime: timestampNow() }));
        return { sessions: [...others, mine] };
      },
      revokeSession: (request, context) => {
        this.authenticate("RevokeSession", context);
        if (!this.otherSessions.includes(request.sessionId)) throw new ConnectError("no live session of yours has this id", Code.NotFound);
        this.otherSessions = this.otherSessions.filter((id) => id !== request.sessionId);
        return {};
      },
      revokeOtherSessions: (_request, context) => {
        this.authenticate("RevokeOtherSessions", context);
        const revokedCount = this.otherSessions.length;
        this.otherSessions = [];
        return { revokedCount };
      },
      listSecurityEvents: (_request, context) => {
        this.authenticate("ListSecurityEvents", context);
        return { events: [{ kind: SecurityEvent_Kind.LOGIN, createTime: timestampNow(), clientAddress: "127.0.0.1", userAgent: "grpcurl/1.8.6" }] };
      },
      changePassword: (request, context) => {
        this.authenticate("ChangePassword", context);
        if (request.currentPassword !== this.password) throw fieldError("current_password", "is incorrect");
        this.password = request.newPassword;
        this.otherSessions = [];
        return {};
      },
      requestPasswordReset: (_request, context) => {
        this.note("RequestPasswordReset", context);
        return {};
      },
      resetPassword: (request, context) => {
        this.note("ResetPassword", context);
        if (request.code !== this.code) throw fieldError("code", "is wrong, used or expired");
        this.password = request.newPassword;
        this.emailVerified = true;
        this.endSessions();
        return {};
      },
      sendVerificationEmail: (_request, context) => {
        this.authenticate("SendVerificationEmail", context);
        return {};
      },
      verifyEmail: (request, context) => {
        this.note("VerifyEmail", context);
        if (request.code !== this.code) throw fieldError("code", "is wrong, used or expired");
        this.emailVerified = true;
        return { user: this.user() };
      },
      deleteAccount: (request, context) => {
        this.authenticate("DeleteAccount", context);
        if (request.password !== this.password) throw fieldError("password", "is incorrect");
        this.deleted = true;
        this.tasks = [];
        this.endSessions();
        return {};
      },
    });
    router.service(TaskService, {
      listTasks: (request, context) => {
        this.authenticate("ListTasks", context);
        return { tasks: request.pageSize ? this.tasks.slice(0, request.pageSize) : this.tasks, totalSize: this.tasks.length };
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

  private user() {
    return { id: "user-1", email: "ada@example.com", emailVerified: this.emailVerified };
  }

  private issue() {
    this.issued += 1;
    const n = this.issued;
    this.live.add(`access-${n}`);
    this.refreshable.add(`refresh-${n}`);
    return { accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn: 900n, user: { email: "ada@example.com" } };
  }
}

function fieldError(field: string, description: string): ConnectError {
  return new ConnectError(`${field}: ${description}`, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: { fieldViolations: [{ field, description }] } },
  ]);
}

/** Tokens as a login gave them: access-1 and refresh-1, valid for `validForMs` from `now`. */
export function signedIn(validForMs = 15 * 60_000, now = Date.now()): Tokens {
  return { accessToken: "access-1", refreshToken: "refresh-1", expiresAt: now + validForMs, email: "ada@example.com" };
}
