/**
 * Reset over repair: when an agent breaks its workspace, throw the sandbox away and restore
 * a known-good snapshot instead of trying to undo the damage step by step.
 *
 *   seed -> snapshot "green" -> break it -> reset to "green" -> diff against the seed
 *
 * Run it from a checkout with `npm run dist-check` (which runs it against the packed
 * package), or in your own project after `npm install pyro-mcp`:
 *   npx tsx reset-over-repair.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Pyro } from "pyro-mcp";

// A small project to seed the workspace with.
const project = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-example-"));
fs.writeFileSync(path.join(project, "greet.sh"), 'echo "hello, $1"\n');
fs.writeFileSync(path.join(project, "test.sh"), '[ "$(sh greet.sh pyro)" = "hello, pyro" ]\n');

const pyro = new Pyro(); // backend and state dir from PYRO_BACKEND / PYRO_STATE_DIR
const workspace = await pyro.createWorkspace(
  // allow_host_compat: where no guest can boot, run as (unisolated) host processes.
  { environment: "debian:12", seed_path: project, allow_host_compat: true },
  { onProgress: (step) => console.error(`… ${step.message}`) },
);
const workspace_id = workspace.workspace_id;
try {
  // 1. Make a change that passes the tests, and keep it as a snapshot.
  await pyro.execWorkspace({
    workspace_id,
    command: `sed -i 's/hello/hello there/' greet.sh && sed -i 's/hello, pyro/hello there, pyro/' test.sh`,
  });
  const green = await pyro.execWorkspace({ workspace_id, command: "sh test.sh" });
  console.log(`tests after the change: exit ${green.exit_code}`);
  await pyro.createSnapshot({ workspace_id, snapshot_name: "green" });

  // 2. An experiment goes badly: files deleted, tests failing.
  await pyro.execWorkspace({ workspace_id, command: "rm greet.sh && echo junk > notes.tmp" });
  const red = await pyro.execWorkspace({ workspace_id, command: "sh test.sh" });
  console.log(`tests after the experiment: exit ${red.exit_code}`);

  // 3. Don't repair: reset to the snapshot. A fresh sandbox, /workspace exactly as saved.
  const reset = await pyro.resetWorkspace({ workspace_id, snapshot: "green" });
  const again = await pyro.execWorkspace({ workspace_id, command: "sh test.sh" });
  console.log(`after reset #${reset.reset_count} to 'green': exit ${again.exit_code}`);

  // 4. The diff against the seed is the good change only; the junk is gone.
  const diff = await pyro.diffWorkspace({ workspace_id });
  console.log(diff.entries.map((entry) => `${entry.status} ${entry.path}`).join("\n"));
  console.log(diff.patch);
  if (green.exit_code !== 0 || red.exit_code === 0 || again.exit_code !== 0) process.exitCode = 1;
  if (diff.entries.some((entry) => entry.path === "notes.tmp")) process.exitCode = 1;
} finally {
  await pyro.deleteWorkspace({ workspace_id });
  pyro.close();
  fs.rmSync(project, { recursive: true, force: true });
}
