// End-to-end smoke test of the reset-over-repair loop through the built CLI, on whatever
// backend PYRO_BACKEND selects (default: the strongest the host runs): create a seeded
// workspace, exec, snapshot, break it, reset to the snapshot, diff, delete. Meant for real
// guests (`PYRO_BACKEND=qemu npm run smoke`); pass --allow-host-compat to run it on the host
// backend. Prints each step's wall time; exits non-zero on the first surprise.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const hostCompat = process.argv.includes("--allow-host-compat") ? ["--allow-host-compat"] : [];
const seed = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-smoke-"));
fs.writeFileSync(path.join(seed, "app.txt"), "v1\n");

function pyro(...args) {
  const start = Date.now();
  const separator = args.indexOf("--");
  const withJson =
    separator === -1
      ? [...args, "--json"]
      : [...args.slice(0, separator), "--json", ...args.slice(separator)];
  const result = spawnSync(process.execPath, [cli, ...withJson], { encoding: "utf8" });
  const seconds = ((Date.now() - start) / 1000).toFixed(2);
  console.log(`${seconds.padStart(7)} s  pyro ${args.join(" ")}`);
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function expect(condition, what) {
  if (!condition) throw new Error(`smoke: expected ${what}`);
}

let id;
try {
  const created = pyro("workspace", "create", "debian:12", "--seed-path", seed, ...hostCompat);
  id = created.workspace_id;
  console.log(`         backend ${created.backend}, execution_mode ${created.execution_mode}`);
  expect(pyro("workspace", "exec", id, "--", "cat", "app.txt").stdout === "v1\n", "the seed");
  pyro("workspace", "exec", id, "--", "sh", "-c", "echo v2 > app.txt");
  pyro("workspace", "snapshot", "create", id, "v2");
  pyro("workspace", "exec", id, "--", "sh", "-c", "rm app.txt && echo junk > junk.txt");
  const reset = pyro("workspace", "reset", id, "--snapshot", "v2");
  expect(reset.reset_count === 1 && reset.command_count === 0, "reset_count 1, empty history");
  expect(pyro("workspace", "exec", id, "--", "cat", "app.txt").stdout === "v2\n", "v2 restored");
  const diff = pyro("workspace", "diff", id);
  expect(
    diff.entries.length === 1 && diff.entries[0].path === "app.txt",
    `only app.txt changed, got ${JSON.stringify(diff.summary)}`,
  );
  console.log("smoke: create/snapshot/reset/diff OK");
} catch (error) {
  console.error(`smoke: ${error.message}`);
  process.exitCode = 1;
} finally {
  if (id) pyro("workspace", "delete", id);
  fs.rmSync(seed, { recursive: true, force: true });
}
