// What a person reads for each server error, with the errors encoded and
// decoded as they travel from our servers to the browser.
import { Code, ConnectError } from "@connectrpc/connect";
import { describe as suite, expect, it } from "vitest";
import { describe, waitText } from "../src/errors";
import { BadRequestSchema, RetryInfoSchema } from "../src/gen/google/rpc/error_details_pb";
import { serverError } from "./support/server-error";

const fieldError = (field: string, description: string) =>
  serverError(`${field}: ${description}`, Code.InvalidArgument, [{ desc: BadRequestSchema, value: { fieldViolations: [{ field, description }] } }]);

suite("error messages", () => {
  it("puts a field error's description next to the field the server names", async () => {
    const problem = describe(await fieldError("password", "is too common (it is on a list); choose another"), "signup");
    expect(problem.fields).toEqual({ password: "Is too common (it is on a list); choose another" });
    expect(describe(await fieldError("task.title", "must be at most 200 characters")).fields).toEqual({ title: "Must be at most 200 characters" });
    expect(describe(await fieldError("task.due_time", "nanos must be between 0 and 999999999")).fields).toEqual({ due: "Nanos must be between 0 and 999999999" });
  });

  it("keeps the server's sentence for a field no form shows, and for an error without details", async () => {
    const unknownField = describe(await fieldError("page_token", "is not a token this service issued; start again without it"));
    expect(unknownField).toMatchObject({ fields: {}, message: "Page_token: is not a token this service issued; start again without it" });
    const plain = describe(await serverError("task.title: is required", Code.InvalidArgument));
    expect(plain).toMatchObject({ fields: {}, message: "Task.title: is required" });
  });

  it("shows every field of a request with several problems", async () => {
    const error = await serverError("task.title: is required", Code.InvalidArgument, [
      { desc: BadRequestSchema, value: { fieldViolations: [{ field: "task.title", description: "is required" }, { field: "task.tags", description: "at most 10 tags are allowed" }] } },
    ]);
    expect(describe(error).fields).toEqual({ title: "Is required", tags: "At most 10 tags are allowed" });
  });

  it("says a taken email belongs to the email field", async () => {
    const problem = describe(await serverError("an account with this email already exists", Code.AlreadyExists), "signup");
    expect(problem.fields.email).toBe("An account with this email already exists.");
  });

  it("shows wrong credentials on login, and an ended session elsewhere", async () => {
    const error = await serverError("incorrect email or password", Code.Unauthenticated);
    expect(describe(error, "login")).toMatchObject({ fields: { password: "Wrong email or password." } });
    expect(describe(error, "task").message).toBe("Your session has ended. Please sign in again.");
  });

  it("says how long a throttled login must wait, from RetryInfo", async () => {
    const error = await serverError("too many failed logins for this email; try again in 14 min 59 s", Code.ResourceExhausted, [
      { desc: RetryInfoSchema, value: { retryDelay: { seconds: 898n, nanos: 200_000_000 } } },
    ]);
    expect(describe(error, "login").fields.password).toBe("Too many attempts: try again in 14 min 59 s.");
    const withoutDetails = await serverError("too many failed logins for this email", Code.ResourceExhausted);
    expect(describe(withoutDetails, "login").fields.password).toBe("Too many attempts. Please wait a little and try again.");
  });

  it("writes waits the way the servers do, never shorter than the real one", () => {
    expect(waitText(45_000)).toBe("45 s");
    expect(waitText(120_000)).toBe("2 min");
    expect(waitText(125_000)).toBe("2 min 5 s");
    expect(waitText(0)).toBe("1 s");
    expect(waitText(59_001)).toBe("1 min");
  });

  it("treats an unreachable backend as offline, not as an error", async () => {
    expect(describe(await serverError("upstream", Code.Unavailable)).offline).toBe(true);
    expect(describe(new ConnectError("Failed to fetch", Code.Unknown, undefined, undefined, new TypeError("Failed to fetch"))).offline).toBe(true);
    expect(describe(new Error("boom"))).toMatchObject({ offline: false, message: "Something went wrong. Please try again." });
  });

  it("puts a wrong reset or verification code next to the code field", async () => {
    const problem = describe(await fieldError("code", "is wrong, used or expired; ask for a new one"), "account");
    expect(problem.fields).toEqual({ code: "Is wrong, used or expired; ask for a new one" });
  });

  it("words the account's refusals in the server's own sentence", async () => {
    const limited = await serverError("too many emails to this address; try again in 9 min 58 s", Code.ResourceExhausted, [
      { desc: RetryInfoSchema, value: { retryDelay: { seconds: 598n, nanos: 0 } } },
    ]);
    expect(describe(limited, "account")).toMatchObject({ fields: {}, message: "Too many emails to this address; try again in 9 min 58 s." });
    const unverified = await serverError("verify your email address before signing in", Code.FailedPrecondition);
    expect(describe(unverified, "account").message).toBe("Verify your email address before signing in.");
    expect(describe(await serverError("DeleteAccount is not built yet", Code.Unimplemented), "account").message).toBe("This server cannot do that yet.");
  });

  it("tells a form to try again when offline, where the task screen says it reconnects", async () => {
    const down = await serverError("upstream", Code.Unavailable);
    expect(describe(down, "account")).toMatchObject({ offline: true, message: "Could not reach the server. Check your connection and try again." });
    expect(describe(down, "task").message).toBe("Reconnecting…");
  });
});
