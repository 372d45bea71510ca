// End-to-end tests in headless Chromium against the real stack: the gateway
// binary runs auth and task services in-process on free loopback ports and
// serves the built app from web/dist. Screenshots of the main screens land in
// web/screenshots/. Needs cargo and Debian's chromium; fails loudly without them.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(web, "..");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const shots = join(web, "screenshots");
const port = 18_080 + Math.floor(Math.random() * 500);
const base = `http://127.0.0.1:${port}`;

if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium`);
if (!existsSync(join(web, "dist", "index.html"))) throw new Error("web/dist is missing: npm run build");

const build = spawnSync("cargo", ["build", "-p", "gateway", "--bin", "gateway"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) throw new Error("cargo build -p gateway failed");
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const data = mkdtempSync(join(tmpdir(), "todo-e2e-"));
const stack = spawn(join(targetDir, "debug", "gateway"), [], {
  cwd: root,
  env: {
    ...process.env,
    GATEWAY_ADDR: `127.0.0.1:${port}`,
    AUTH_ADDR: `127.0.0.1:${port + 1000}`,
    TASK_ADDR: `127.0.0.1:${port + 2000}`,
    DATA_DIR: data,
    WEB_DIR: join(web, "dist"),
    JWT_SECRET: "e2e-secret-that-is-certainly-long-enough-0123",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
  },
  stdio: ["ignore", "inherit", "inherit"],
});

async function waitForStack() {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(base)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the stack did not come up");
}

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

mkdirSync(shots, { recursive: true });
let browser;
try {
  await waitForStack();
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

  await test("two pages of one user stay in sync live, within a second", async () => {
    const context = await browser.newContext();
    const first = await context.newPage();
    await signUp(first, "live@example.com");
    const second = await context.newPage();
    await second.goto(base);
    await second.getByTestId("user").getByText("live@example.com").waitFor();
    await new Promise((r) => setTimeout(r, 500)); // both watches open
    const started = Date.now();
    await addTask(second, "Made in the other tab");
    await first.getByText("Made in the other tab", { exact: true }).waitFor({ timeout: 2000 });
    assert.ok(Date.now() - started < 2000, "the change took too long to arrive");
    await task(second, "Made in the other tab").getByTestId("toggle").check();
    await first.waitForFunction(() => document.querySelectorAll("[data-testid=task].done").length === 1, null, { timeout: 2000 });
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
    await theirs.getByText("My plan", { exact: true }).waitFor({ timeout: 2000 });
    await context.close();
  });
} finally {
  await browser?.close();
  stack.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 && results.length > 0 ? 0 : 1);
