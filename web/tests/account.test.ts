// @vitest-environment happy-dom
// The account's screens as a user meets them, over the in-memory services:
// the emailed reset and verification links, the banner, the account page's
// sessions and password, and deleting the account.
import { createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApi, refresher } from "../src/api";
import { startApp } from "../src/app";
import { authorize } from "../src/authorization";
import { AuthService } from "../src/gen/todo/auth/v1/auth_pb";
import { Session } from "../src/session";
import { FakeServer, signedIn } from "./support/fake-server";
import { memoryStorage } from "./support/storage";

let root: HTMLElement;
let stop: () => void;
let session: Session;

function start(server: FakeServer, { at = "#/", signedIn: withSession = true } = {}): void {
  history.replaceState(null, "", at);
  session = new Session(memoryStorage(), refresher(createClient(AuthService, server.transport())));
  if (withSession) session.save(signedIn());
  root = document.createElement("main");
  document.body.append(root);
  stop = startApp({ root, session, api: createApi(server.transport([authorize(session)])) });
}

afterEach(() => {
  stop();
  root.remove();
  history.replaceState(null, "", "#/");
});

const byTestId = <T extends HTMLElement = HTMLElement>(id: string) => root.querySelector<T>(`[data-testid=${id}]`);
const all = (id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid=${id}]`)];

function fill(selector: string, value: string): void {
  const input = root.querySelector<HTMLInputElement>(selector);
  if (!input) throw new Error(`no ${selector} on screen`);
  input.value = value;
  input.dispatchEvent(new Event("input"));
}

function submit(id: string): void {
  const button = byTestId<HTMLButtonElement>(id);
  if (!button) throw new Error(`no [data-testid=${id}] on screen`);
  button.click();
}

describe("the emailed links", () => {
  it("verifies the address from the link, signed out and sending no token", async () => {
    const server = new FakeServer();
    start(server, { at: `#/verify?email=ada%40example.com&code=${server.code}`, signedIn: false });
    await vi.waitFor(() => expect(byTestId("verify-done")?.textContent).toContain("ada@example.com"));
    expect(server.emailVerified).toBe(true);
    expect(server.seen.find((call) => call.method === "VerifyEmail")?.authorization).toBeNull();
    // The used code leaves the address bar.
    expect(location.hash).toBe("#/");
    expect(byTestId("verify-continue")?.textContent).toBe("Sign in");
  });

  it("offers the code form, with the server's message at the code, when the link's code is wrong", async () => {
    const server = new FakeServer();
    start(server, { at: "#/verify?email=ada%40example.com&code=WRONG", signedIn: false });
    await vi.waitFor(() => expect(byTestId("verify-code-error")?.textContent).toBe("Is wrong, used or expired"));
    expect(root.querySelector("#verify-code")?.getAttribute("aria-invalid")).toBe("true");
    fill("#verify-code", server.code);
    expect(root.querySelector("#verify-code")?.hasAttribute("aria-invalid")).toBe(false);
    submit("verify-submit");
    await vi.waitFor(() => expect(byTestId("verify-done")).not.toBeNull());
  });

  it("opens a reset link filled in, sets the password and signs in with it", async () => {
    const server = new FakeServer();
    start(server, { at: `#/reset?email=ada%40example.com&code=${server.code}`, signedIn: false });
    expect(root.querySelector<HTMLInputElement>("#reset-email")?.value).toBe("ada@example.com");
    expect(root.querySelector<HTMLInputElement>("#reset-code")?.value).toBe(server.code);
    await vi.waitFor(() => expect(document.activeElement?.id).toBe("reset-new-password"));
    fill("#reset-new-password", "a brand new password");
    submit("set-new-password");
    await vi.waitFor(() => expect(byTestId("count")).not.toBeNull());
    expect(server.password).toBe("a brand new password");
    expect(session.tokens?.email).toBe("ada@example.com");
    expect(location.hash).toBe("#/");
  });

  it("sends a reset once however often it is submitted while on its way", async () => {
    const server = new FakeServer();
    start(server, { at: `#/reset?email=ada%40example.com&code=${server.code}`, signedIn: false });
    fill("#reset-new-password", "a brand new password");
    submit("set-new-password");
    submit("set-new-password");
    expect(byTestId("set-new-password")?.getAttribute("aria-busy")).toBe("true");
    await vi.waitFor(() => expect(byTestId("count")).not.toBeNull());
    expect(server.seen.filter((call) => call.method === "ResetPassword")).toHaveLength(1);
  });

  it("shows a wrong reset code next to the code, and sends nothing for an empty form", async () => {
    const server = new FakeServer();
    start(server, { at: "#/reset?email=ada%40example.com&code=WRONG", signedIn: false });
    submit("set-new-password");
    await vi.waitFor(() => expect(byTestId("reset-new_password-error")?.textContent).toBe("Enter a new password."));
    expect(server.seen.some((call) => call.method === "ResetPassword")).toBe(false);
    fill("#reset-new-password", "a brand new password");
    submit("set-new-password");
    await vi.waitFor(() => expect(byTestId("reset-code-error")?.textContent).toBe("Is wrong, used or expired"));
    expect(document.activeElement?.id).toBe("reset-code");
  });

  it("asks for the email first, then the code, from “Forgot password?”", async () => {
    const server = new FakeServer();
    start(server, { signedIn: false });
    fill("#email", "ada@example.com");
    expect(byTestId<HTMLAnchorElement>("forgot-password")?.getAttribute("href")).toBe("#/reset?email=ada%40example.com");
    location.hash = byTestId<HTMLAnchorElement>("forgot-password")?.getAttribute("href") ?? "";
    await vi.waitFor(() => expect(byTestId("send-reset-code")).not.toBeNull());
    expect(root.querySelector<HTMLInputElement>("#reset-email")?.value).toBe("ada@example.com");
    submit("send-reset-code");
    await vi.waitFor(() => expect(byTestId("reset-intro")?.textContent).toMatch(/^If an account exists for ada@example.com/));
    expect(document.activeElement?.id).toBe("reset-code");
  });

  it("takes a login refused for an unverified address to the code, then back to sign-in filled in", async () => {
    const server = new FakeServer();
    server.requireVerified = true;
    start(server, { signedIn: false });
    fill("#email", "ada@example.com");
    fill("#password", "correct horse battery");
    submit("sign-in");
    await vi.waitFor(() => expect(byTestId("verify-notice")?.textContent).toMatch(/^Your email address is not verified yet/));
    expect(location.hash).toBe("#/verify?email=ada%40example.com");
    expect(root.querySelector<HTMLInputElement>("#verify-email")?.value).toBe("ada@example.com");
    expect(document.activeElement?.id).toBe("verify-code");
    fill("#verify-code", server.code);
    submit("verify-submit");
    await vi.waitFor(() => expect(byTestId("verify-continue")?.textContent).toBe("Sign in"));
    submit("verify-continue");
    expect(byTestId("auth-info")?.textContent).toBe("Your email address is verified. Sign in to continue.");
    expect(root.querySelector<HTMLInputElement>("#email")?.value).toBe("ada@example.com");
    fill("#password", "correct horse battery");
    submit("sign-in");
    await vi.waitFor(() => expect(byTestId("count")).not.toBeNull());
  });
});

describe("the verification banner", () => {
  it("shows for an unverified address and sends a new link", async () => {
    const server = new FakeServer();
    start(server);
    await vi.waitFor(() => expect(byTestId("verify-banner")?.hidden).toBe(false));
    submit("resend-verification");
    await vi.waitFor(() => expect(byTestId("verify-banner-status")?.textContent).toMatch(/^Sent\./));
    expect(server.seen.some((call) => call.method === "SendVerificationEmail")).toBe(true);
  });

  it("stays hidden for a verified address", async () => {
    const server = new FakeServer();
    server.emailVerified = true;
    start(server);
    await vi.waitFor(() => expect(server.seen.some((call) => call.method === "GetCurrentUser")).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(byTestId("verify-banner")?.hidden).toBe(true);
  });
});

describe("the account page", () => {
  it("lists this device first and signs another out, keeping focus in the list", async () => {
    const server = new FakeServer();
    server.otherSessions = ["phone", "tablet"];
    start(server, { at: "#/account" });
    await vi.waitFor(() => expect(all("session")).toHaveLength(3));
    expect(all("session")[0].dataset.current).toBe("true");
    expect(all("session")[0].textContent).toContain("This device");
    expect(all("revoke-session")[0].getAttribute("aria-label")).toBe("Sign out Safari on iPhone at 203.0.113.7");
    all("revoke-session")[0].click();
    await vi.waitFor(() => expect(all("session")).toHaveLength(2));
    expect(server.otherSessions).toEqual(["tablet"]);
    expect(document.activeElement).toBe(all("revoke-session")[0]);
    submit("revoke-others");
    await vi.waitFor(() => expect(byTestId("sessions-status")?.textContent).toBe("Signed out 1 other session."));
    expect(all("session")).toHaveLength(1);
    expect(byTestId("revoke-others")?.closest("[hidden]")).not.toBeNull();
  });

  it("changes the password, with a wrong current one shown at its field", async () => {
    const server = new FakeServer();
    start(server, { at: "#/account" });
    fill("#current-password", "not it");
    fill("#new-password", "a brand new password");
    submit("change-password");
    await vi.waitFor(() => expect(byTestId("change-current_password-error")?.textContent).toBe("Is incorrect"));
    fill("#current-password", "correct horse battery");
    submit("change-password");
    await vi.waitFor(() => expect(byTestId("change-password-status")?.textContent).toMatch(/^Your password was changed/));
    expect(server.password).toBe("a brand new password");
  });

  it("deletes the account after the password, and signs out", async () => {
    const server = new FakeServer();
    start(server, { at: "#/account" });
    submit("delete-account");
    const dialog = byTestId<HTMLDialogElement>("delete-dialog");
    expect(dialog?.open).toBe(true);
    fill("#delete-password", "not it");
    submit("confirm-delete-account");
    await vi.waitFor(() => expect(byTestId("delete-password-error")?.textContent).toBe("Is incorrect"));
    expect(session.tokens).toBeDefined();
    fill("#delete-password", "correct horse battery");
    submit("confirm-delete-account");
    await vi.waitFor(() => expect(byTestId("auth-info")?.textContent).toBe("Your account and all of its tasks were deleted."));
    expect(server.deleted).toBe(true);
    expect(session.tokens).toBeUndefined();
  });

  it("gives way to sign-in when the session is found ended", async () => {
    const server = new FakeServer();
    start(server, { at: "#/account" });
    await vi.waitFor(() => expect(all("session").length).toBeGreaterThan(0));
    server.endSessions();
    submit("revoke-others");
    await vi.waitFor(() => expect(byTestId("auth-error")?.textContent).toBe("Your session has ended. Please sign in again."));
  });
});
