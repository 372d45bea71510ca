// Fails when the committed dist/ differs from a fresh build of the sources:
// the gateway serves dist/ as committed, so it must be what the sources make.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const fresh = mkdtempSync(join(tmpdir(), "todo-dist-"));
execFileSync("npx", ["vite", "build", "--outDir", fresh, "--emptyOutDir"], { stdio: "inherit" });
try {
  execFileSync("git", ["diff", "--no-index", "--exit-code", "dist", fresh], { stdio: "inherit" });
  console.log("dist/ matches a fresh build");
} catch {
  console.error("dist/ is stale: run `npm run build` and commit web/dist");
  process.exitCode = 1;
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
