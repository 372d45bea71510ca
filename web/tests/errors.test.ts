import { Code, ConnectError } from "@connectrpc/connect";
import { describe as suite, expect, it } from "vitest";
import { describe } from "../src/errors";

suite("error messages", () => {
  it("puts invalid-argument messages next to the field the server names", () => {
    const problem = describe(new ConnectError("password: is too common (it is on a list); choose another", Code.InvalidArgument), "signup");
    expect(problem.field).toBe("password");
    expect(problem.message).toMatch(/^Is too common/);
    expect(describe(new ConnectError("task.title: must be at most 200 characters", Code.InvalidArgument)).field).toBe("title");
  });

  it("says a taken email belongs to the email field", () => {
    expect(describe(new ConnectError("an account with this email already exists", Code.AlreadyExists), "signup")).toMatchObject({ field: "email" });
  });

  it("shows wrong credentials on login, and an ended session elsewhere", () => {
    const error = new ConnectError("incorrect email or password", Code.Unauthenticated);
    expect(describe(error, "login")).toEqual({ field: "password", message: "Wrong email or password." });
    expect(describe(error, "task").message).toMatch(/session has ended/);
  });

  it("keeps the wait of a throttled login", () => {
    const problem = describe(new ConnectError("too many failed logins for this email; try again in 14 min 59 s", Code.ResourceExhausted), "login");
    expect(problem.message).toBe("Too many attempts: try again in 14 min 59 s.");
  });

  it("treats an unreachable backend as offline, not as an error", () => {
    expect(describe(new ConnectError("upstream", Code.Unavailable)).offline).toBe(true);
    expect(describe(new Error("boom")).offline).toBeUndefined();
  });
});
