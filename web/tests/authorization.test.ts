// The session interceptor over the in-memory services: which calls it signs,
// how it renews a refused token, and when it ends the session.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createApi, refresher } from "../src/api";
import { authorize, signOut } from "../src/authorization";
import { AuthService } from "../src/gen/todo/auth/v1/auth_pb";
import { Session } from "../src/session";
import { FakeServer, signedIn } from "./support/fake-server";
import { memoryStorage } from "./support/storage";

let server: FakeServer;
let session: Session;
let ended: ReturnType<typeof vi.fn<() => void>>;

function setUp(validForMs?: number) {
  server = new FakeServer();
  session = new Session(memoryStorage(), refresher(createClient(AuthService, server.transport())));
  session.save(signedIn(validForMs));
  ended = vi.fn<() => void>();
  session.onEnded(ended);
  return createApi(server.transport([authorize(session)]));
}

const authorizationOf = (method: string) => server.seen.filter((call) => call.method === method).map((call) => call.authorization);

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ConnectError) return error;
  }
  throw new Error("the call was not refused");
}

describe("every call carries the session", () => {
  beforeEach(() => void setUp());

  it("signs each call that needs the session, and none of those that start one", async () => {
    const api = createApi(server.transport([authorize(session)]));
    await api.auth.login({ email: "ada@example.com", password: "correct horse battery" });
    await api.tasks.listTasks({});
    await api.tasks.createTask({ task: { title: "Buy milk" } });
    expect(server.seen).toEqual([
      { method: "Login", authorization: null },
      { method: "ListTasks", authorization: "Bearer access-1" },
      { method: "CreateTask", authorization: "Bearer access-1" },
    ]);
  });

  it("refreshes a token about to expire before using it", async () => {
    const api = setUp(30_000);
    await api.tasks.listTasks({});
    expect(server.seen.map((call) => call.method)).toEqual(["Refresh", "ListTasks"]);
    expect(authorizationOf("ListTasks")).toEqual(["Bearer access-2"]);
  });

  it("refreshes a refused token once and sends the call again", async () => {
    const api = setUp();
    server.live.delete("access-1");
    const created = await api.tasks.createTask({ task: { title: "Buy milk" } });
    expect(created.task?.title).toBe("Buy milk");
    expect(authorizationOf("CreateTask")).toEqual(["Bearer access-1", "Bearer access-2"]);
    expect(ended).not.toHaveBeenCalled();
  });

  it("renews a token refused to several calls at once only once, since a refresh token works once", async () => {
    const api = setUp();
    server.live.delete("access-1");
    await Promise.all([api.tasks.listTasks({}), api.tasks.createTask({ task: { title: "Buy milk" } }), api.tasks.listTasks({})]);
    expect(server.seen.filter((call) => call.method === "Refresh")).toHaveLength(1);
    expect(ended).not.toHaveBeenCalled();
  });
});

describe("an ended session is handled in one place", () => {
  const calls = {
    "adding a task": (api: ReturnType<typeof setUp>) => api.tasks.createTask({ task: { title: "Buy milk" } }),
    "saving an edit": (api: ReturnType<typeof setUp>) => api.tasks.updateTask({ task: { id: "task-1", title: "Buy oat milk" } }),
    "listing": (api: ReturnType<typeof setUp>) => api.tasks.listTasks({}),
    "watching": async (api: ReturnType<typeof setUp>) => {
      for await (const _ of api.tasks.watchTasks({})) break;
    },
  };

  it.each(Object.entries(calls))("ends it when %s is refused and so is the refresh", async (_name, call) => {
    const api = setUp();
    server.endSessions();
    expect((await refusal(call(api))).code).toBe(Code.Unauthenticated);
    expect(ended).toHaveBeenCalled();
    expect(session.tokens).toBeUndefined();
  });

  it("ends it when even the refreshed token is refused", async () => {
    const api = setUp();
    server.refuseAccessTokens = true;
    expect((await refusal(api.tasks.createTask({ task: { title: "Buy milk" } }))).code).toBe(Code.Unauthenticated);
    expect(authorizationOf("CreateTask")).toEqual(["Bearer access-1", "Bearer access-2"]);
    expect(ended).toHaveBeenCalled();
  });

  it("ends nothing when the server cannot be reached", async () => {
    const api = setUp();
    server.down = true;
    expect((await refusal(api.tasks.createTask({ task: { title: "Buy milk" } }))).code).toBe(Code.Unavailable);
    expect(ended).not.toHaveBeenCalled();
    expect(session.tokens?.accessToken).toBe("access-1");
  });

  it("signing out forgets the session at once and ends it on the server with its own token", async () => {
    const api = setUp();
    signOut(session, api.auth);
    expect(session.tokens).toBeUndefined();
    await vi.waitFor(() => expect(authorizationOf("Logout")).toEqual(["Bearer access-1"]));
    expect(ended).not.toHaveBeenCalled();
  });
});
