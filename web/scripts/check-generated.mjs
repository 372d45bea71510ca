// Fails when src/gen differs from what `npm run gen` makes of ../proto and proto/ now.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const copy = mkdtempSync(join(tmpdir(), "todo-gen-"));
cpSync("src/gen", copy, { recursive: true });
execFileSync("npm", ["run", "--silent", "gen"], { stdio: "inherit" });
try {
  execFileSync("git", ["diff", "--no-index", "--exit-code", copy, "src/gen"], { stdio: "inherit" });
  console.log("src/gen matches proto/");
} catch {
  console.error("src/gen is stale: run `npm run gen` and commit the result");
  process.exitCode = 1;
} finally {
  rmSync(copy, { recursive: true, force: true });
}
