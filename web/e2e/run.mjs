// End-to-end tests in headless Chromium against the real stack: the stack
// binary runs the gateway, auth and task services in one process on ports the
// OS picks, and serves the built app from web/dist. Screenshots of the main
// screens land in web/screenshots/. Needs cargo (or STACK_BIN) and Debian's
// chromium; fails loudly without them.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

/** The cargo package and binary that start the whole stack. */
const STACK = { package: "todo-stack", binary: "todo-stack" };
/** How long a change may take to show up in another tab before the test fails: the promise is "within a
 * second", and this leaves room for a loaded CI machine. */
const LIVE_DEADLINE_MS = 10_000;

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(web, "..");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const shots = join(web, "screenshots");

if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium`);
if (!existsSync(join(web, "dist", "index.html"))) throw new Error("web/dist is missing: npm run build");

/** STACK_BIN names an already built stack binary; otherwise cargo builds one. */
function stackBinary() {
  if (process.env.STACK_BIN) return process.env.STACK_BIN;
  const build = spawnSync("cargo", ["build", "-p", STACK.package, "--bin", STACK.binary], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) throw new Error(`cargo build -p ${STACK.package} --bin ${STACK.binary} failed`);
  return join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", STACK.binary);
}

const data = mkdtempSync(join(tmpdir(), "todo-e2e-"));
const stack = spawn(stackBinary(), [], {
  cwd: root,
  env: {
    ...process.env,
    // Port 0 everywhere: the OS picks free ports and the stack prints them.
    GATEWAY_ADDR: "127.0.0.1:0",
    AUTH_ADDR: "127.0.0.1:0",
    TASK_ADDR: "127.0.0.1:0",
    DATA_DIR: data,
    WEB_DIR: join(web, "dist"),
    JWT_SECRET: "e2e-secret-that-is-certainly-long-enough-0123",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
  },
  stdio: ["ignore", "pipe", "inherit"],
});
const stackExited = new Promise((done) => stack.once("exit", (code, signal) => done(signal ?? code)));

/** The gateway's URL, from the line the stack prints once everything listens. */
function stackUrl() {
  const deadline = 120_000;
  return new Promise((found, failed) => {
    const timer = setTimeout(() => failed(new Error(`the stack printed no address within ${deadline / 1000} s`)), deadline);
    createInterface({ input: stack.stdout }).on("line", (line) => {
      console.log(`stack | ${line}`);
      const match = /^\s*web app and API\s+(http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        found(match[1]);
      }
    });
    void stackExited.then((status) => {
      clearTimeout(timer);
      failed(new Error(`the stack exited (${status}) before it was up`));
    });
  });
}

let base = "";
const results = [];
async function test(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n${error.stack ?? error}`);
  }
}

const PASSWORD = "correct horse battery";
const tasksOf = (page) => page.getByTestId("task");

async function signUp(page, email) {
  await page.goto(base);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByTestId("sign-up").click();
  await page.getByTestId("user").getByText(email).waitFor();
}

async function addTask(page, title, { tags = "", due = "" } = {}) {
  if (tags) await page.getByTestId("new-tags").fill(tags);
  if (due) await page.getByTestId("new-due").fill(due);
  await page.getByTestId("new-title").fill(title);
  await page.getByTestId("new-title").press("Enter");
  await page.getByTestId("title").getByText(title, { exact: true }).waitFor();
}

const task = (page, title) => page.getByTestId("task").filter({ has: page.getByText(title, { exact: true }) });

/** Waits until the page's list is loaded and its live stream open, so changes made elsewhere now reach it. */
const live = (page) => page.locator("[data-testid=task-list][data-live=connected]").waitFor({ state: "attached" });

/** Ends the page's session the way another device would: Logout over grpc-web with its access token. */
async function endSessionElsewhere(page) {
  const { accessToken } = JSON.parse(await page.evaluate(() => localStorage.getItem("todo.session")));
  const response = await fetch(`${base}/todo.auth.v1.AuthService/Logout`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", authorization: `Bearer ${accessToken}` },
    body: new Uint8Array(5), // one empty LogoutRequest, framed
  });
  const trailer = Buffer.from(await response.arrayBuffer()).toString("latin1");
  assert.ok(response.headers.get("grpc-status") === "0" || /grpc-status:\s*0\r\n/.test(trailer), `Logout failed: ${trailer}`);
}

/** Stops the stack and waits for it, so no process outlives the run. */
async function stopStack() {
  if (stack.exitCode !== null || stack.signalCode !== null) return;
  stack.kill("SIGTERM");
  const stopped = await Promise.race([stackExited.then(() => true), new Promise((r) => setTimeout(() => r(false), 15_000))]);
  if (!stopped) {
    console.log("the stack did not stop within 15 s of SIGTERM; killing it");
    stack.kill("SIGKILL");
    await stackExited;
  }
}

mkdirSync(shots, { recursive: true });
let browser;
try {
  base = await stackUrl();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
  });

  await test("the whole journey: sign up, sign in, add, complete, filter, search, edit, delete, reload, sign out", async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    await page.goto(base);
    await page.screenshot({ path: join(shots, "sign-in.png") });
    await signUp(page, "ada@example.com");
    await page.getByTestId("sign-out").click();
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByTestId("sign-in").click();
    await page.getByTestId("user").getByText("ada@example.com").waitFor();

    await addTask(page, "Buy milk", { tags: "home, errands" });
    await addTask(page, "Call mum");
    await addTask(page, "Pay rent", { due: "2020-01-31" });
    await assert.doesNotReject(tasksOf(page).nth(2).waitFor());
    assert.equal(await tasksOf(page).count(), 3);
    assert.match(await task(page, "Pay rent").getByTestId("due").innerText(), /Overdue/);

    // Complete with the keyboard: Space toggles the focused checkbox.
    await task(page, "Buy milk").getByTestId("toggle").focus();
    await page.keyboard.press("Space");
    await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=task].done")].length === 1);

    await page.getByTestId("filter-open").click();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=task]").length === 2);
    await page.getByTestId("filter-done").click();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=task]").length === 1);
    await page.getByTestId("filter-all").click();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=task]").length === 3);

    await page.getByTestId("search").fill("MILK");
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=task]").length === 1);
    await page.getByTestId("search").fill("");
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=task]").length === 3);

    await task(page, "Call mum").getByTestId("edit").click();
    await page.getByTestId("editor").getByLabel("Title").fill("Call mum tonight");
    await page.getByTestId("save").click();
    await page.getByText("Call mum tonight", { exact: true }).waitFor();

    await task(page, "Pay rent").getByTestId("delete").click();
    await page.getByTestId("confirm-delete").click();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=task]").length === 2);
    await page.getByTestId("count").getByText("2 tasks").waitFor();
    await page.screenshot({ path: join(shots, "tasks.png") });

    await page.reload();
    await page.getByTestId("user").getByText("ada@example.com").waitFor();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=task]").length === 2);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(shots, "tasks-phone.png"), fullPage: true });

    await page.getByTestId("sign-out").click();
    await page.getByLabel("Email").waitFor();
    await context.close();
  });

  await test("a wrong password is shown next to the password field", async () => {
    const page = await browser.newPage();
    await signUp(page, "grace@example.com");
    await page.getByTestId("sign-out").click();
    await page.getByLabel("Email").fill("grace@example.com");
    await page.getByLabel("Password").fill("not the password");
    await page.getByTestId("sign-in").click();
    await page.getByTestId("password-error").getByText("Wrong email or password.").waitFor();
    await page.screenshot({ path: join(shots, "wrong-password.png") });
    await page.close();
  });

  await test("two pages of one user stay in sync live", async () => {
    const context = await browser.newContext();
    const first = await context.newPage();
    await signUp(first, "live@example.com");
    const second = await context.newPage();
    await second.goto(base);
    await Promise.all([live(first), live(second)]);
    const started = Date.now();
    await addTask(second, "Made in the other tab");
    await first.getByText("Made in the other tab", { exact: true }).waitFor({ timeout: LIVE_DEADLINE_MS });
    console.log(`     the new task showed up in the other tab after ${Date.now() - started} ms`);
    await task(second, "Made in the other tab").getByTestId("toggle").check();
    await first.waitForFunction(() => document.querySelectorAll("[data-testid=task].done").length === 1, null, { timeout: LIVE_DEADLINE_MS });
    await context.close();
  });

  await test("a conflicting edit shows the other version and can be resolved", async () => {
    const context = await browser.newContext();
    const mine = await context.newPage();
    await signUp(mine, "conflict@example.com");
    await addTask(mine, "Shared plan");
    const theirs = await context.newPage();
    await theirs.goto(base);
    await task(theirs, "Shared plan").waitFor();
    await Promise.all([live(mine), live(theirs)]);

    await task(mine, "Shared plan").getByTestId("edit").click();
    await task(theirs, "Shared plan").getByTestId("edit").click();
    await theirs.getByTestId("editor").getByLabel("Title").fill("Their plan");
    await theirs.getByTestId("save").click();
    await theirs.getByText("Their plan", { exact: true }).waitFor();

    await mine.getByTestId("editor").getByLabel("Title").fill("My plan");
    await mine.getByTestId("save").click();
    await mine.getByTestId("conflict").getByText(/Their version: “Their plan”/).waitFor();
    await mine.screenshot({ path: join(shots, "conflict.png") });
    await mine.getByTestId("overwrite").click();
    await mine.getByText("My plan", { exact: true }).waitFor();
    await theirs.getByText("My plan", { exact: true }).waitFor({ timeout: LIVE_DEADLINE_MS });
    await context.close();
  });

  await test("a session ended on another device sends the user to sign-in", async () => {
    const page = await browser.newPage();
    await signUp(page, "ended@example.com");
    await live(page);
    await endSessionElsewhere(page);
    // Whichever notices first (the live stream, or this add), the user lands on sign-in.
    await page.getByTestId("new-title").fill("Written after the session ended");
    await page.getByTestId("new-title").press("Enter");
    await page.getByTestId("auth-error").getByText("Your session has ended. Please sign in again.").waitFor();
    await page.getByLabel("Email").waitFor();
    await page.close();
  });

  // Needs the servers' google.rpc.BadRequest details.
  await test("field errors from the server show under their fields", async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.getByLabel("Email").fill("short@example.com");
    await page.getByLabel("Password").fill("short");
    await page.getByTestId("sign-up").click();
    await page.getByTestId("password-error").getByText("Must be at least 8 characters").waitFor();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByTestId("sign-up").click();
    await page.getByTestId("user").getByText("short@example.com").waitFor();
    await page.getByTestId("new-title").fill("   ");
    await page.getByTestId("new-title").press("Enter");
    await page.getByTestId("new-title-error").getByText("Is required (1 to 200 characters)").waitFor();
    assert.equal(await page.getByTestId("add-error").textContent(), "");
    await page.screenshot({ path: join(shots, "field-error.png") });
    await page.close();
  });

  // Needs the auth service's google.rpc.RetryInfo; the default limit is 10 failures in 15 minutes.
  await test("a throttled login says how long to wait", async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.getByLabel("Email").fill("nobody@example.com");
    await page.getByLabel("Password").fill("not the password");
    for (let attempt = 0; attempt < 10; attempt++) {
      await Promise.all([page.waitForResponse((response) => response.url().endsWith("/Login")), page.getByTestId("sign-in").click()]);
    }
    await page.getByTestId("sign-in").click();
    await page.getByTestId("password-error").getByText(/^Too many attempts: try again in (\d+ min)?( ?\d+ s)?\.$/).waitFor();
    await page.close();
  });
} finally {
  await browser?.close();
  await stopStack();
  rmSync(data, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 && results.length > 0 ? 0 : 1);
