// Startup cost of a read-only CLI call: `pyro workspace status ID` against `node -e 0`,
// interleaved so both see the same machine load. Reports medians and their ratio.
//
//   npm run build && node scripts/bench-startup.mjs      (BENCH_STARTUP_ROUNDS, default 30)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 30);
const base = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-startup-"));
const env = { ...process.env, PYRO_STATE_DIR: base, PYRO_BACKEND: "host" };

function timed(args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];

const created = spawnSync(
  process.execPath,
  [cli, "workspace", "create", "debian:12", "--allow-host-compat", "--json"],
  { env, encoding: "utf8" },
);
const id = JSON.parse(created.stdout).workspace_id;
try {
  const status = [cli, "workspace", "status", id, "--json"];
  for (let i = 0; i < 3; i += 1) timed(status); // warm the file cache
  const pyro = [];
  const node = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    pyro.push(timed(status));
    node.push(timed(["-e", "0"]));
  }
  const ratio = median(pyro) / median(node);
  console.log(
    `pyro workspace status: median ${median(pyro).toFixed(1)} ms; node -e 0: median ${median(node).toFixed(1)} ms; ratio ${ratio.toFixed(2)}x (${ROUNDS} rounds, Node ${process.version})`,
  );
} finally {
  spawnSync(process.execPath, [cli, "workspace", "delete", id], { env });
  fs.rmSync(base, { recursive: true, force: true });
}
