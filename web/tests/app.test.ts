// @vitest-environment happy-dom
// The app as a user meets it, over the in-memory services: whichever screen
// makes the call that finds the session ended, the user lands on sign-in.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApi, refresher } from "../src/api";
import { startApp } from "../src/app";
import { authorize } from "../src/authorization";
import { BadRequestSchema } from "../src/gen/google/rpc/error_details_pb";
import { AuthService } from "../src/gen/todo/auth/v1/auth_pb";
import { Session } from "../src/session";
import { FakeServer, signedIn } from "./support/fake-server";
import { memoryStorage } from "./support/storage";

let root: HTMLElement;
let stop: () => void;

function start(server: FakeServer): void {
  const session = new Session(memoryStorage(), refresher(createClient(AuthService, server.transport())));
  session.save(signedIn());
  root = document.createElement("div");
  document.body.append(root);
  stop = startApp({ root, session, api: createApi(server.transport([authorize(session)])) });
}

afterEach(() => {
  // Leaving the app stops its live stream.
  root.querySelector<HTMLButtonElement>("[data-testid=sign-out]")?.click();
  stop();
  root.remove();
});

const byTestId = (id: string) => root.querySelector<HTMLElement>(`[data-testid=${id}]`);

function fill(id: string, value: string): void {
  const input = root.querySelector<HTMLInputElement>(`#${id}`);
  if (!input) throw new Error(`no #${id} on screen`);
  input.value = value;
}

async function onTaskScreen(): Promise<void> {
  await vi.waitFor(() => expect(byTestId("count")?.textContent).toMatch(/tasks?$/));
}

async function onSignInSaying(notice: string): Promise<void> {
  await vi.waitFor(() => expect(byTestId("auth-error")?.textContent).toBe(notice));
  expect(root.querySelector("#email")).not.toBeNull();
  expect(byTestId("task-list")).toBeNull();
}

describe("the app", () => {
  it("sends the user to sign-in when adding a task finds the session ended", async () => {
    const server = new FakeServer();
    start(server);
    await onTaskScreen();
    server.endSessions();
    fill("new-title", "Buy milk");
    byTestId("add")?.click();
    await onSignInSaying("Your session has ended. Please sign in again.");
  });

  it("sends the user to sign-in when saving an edit finds the session ended", async () => {
    const server = new FakeServer();
    start(server);
    fill("new-title", "Buy milk");
    byTestId("add")?.click();
    await vi.waitFor(() => expect(byTestId("title")?.textContent).toBe("Buy milk"));
    byTestId("edit")?.click();
    server.endSessions();
    const editor = byTestId("editor");
    const title = editor?.querySelector<HTMLInputElement>("input[name=title]");
    if (!title) throw new Error("the editor has no title field");
    title.value = "Buy oat milk";
    byTestId("save")?.click();
    await onSignInSaying("Your session has ended. Please sign in again.");
  });

  it("shows a field error from the server under that field, not under the form", async () => {
    const server = new FakeServer();
    server.createError = new ConnectError("task.title: is required (1 to 200 characters)", Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: { fieldViolations: [{ field: "task.title", description: "is required (1 to 200 characters)" }] } },
    ]);
    start(server);
    await onTaskScreen();
    fill("new-title", "   ");
    byTestId("add")?.click();
    await vi.waitFor(() => expect(byTestId("new-title-error")?.textContent).toBe("Is required (1 to 200 characters)"));
    expect(byTestId("add-error")?.textContent).toBe("");
    expect(root.querySelector("#new-title")?.getAttribute("aria-describedby")).toBe("new-title-error");
  });
});
