// Start-up cost of read-only CLI calls against `node -e 0`, interleaved so every command
// sees the same machine load: `pyro --version`, `pyro env list` (an empty environment
// cache: no digests to check), `pyro workspace status ID --json`, `pyro workspace logs
// ID` and `pyro workspace list`. Prints each median and its ratio to the median of `node -e 0` in the same run.
//
//   npm run build && node scripts/bench-startup.mjs      (BENCH_STARTUP_ROUNDS, default 30)
//
// BENCH_STARTUP_CLI=path/to/main.js measures another build of the CLI (e.g. an older one);
// BENCH_STARTUP_BEFORE=path/to/main.js also measures that build's calls in the same
// interleaved rounds, as "before" rows (e.g. a `git worktree add /tmp/old main` built with
// `npm run build`), so a change's before and after come from one run.
// The SDK entry too: `import("pyro-mcp")` (dist/index.js; BENCH_STARTUP_SDK=path/to/index.js
// for another build), which must load no MCP server code (issue 10).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const cli =
  process.env.BENCH_STARTUP_CLI ?? fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const sdkEntry =
  process.env.BENCH_STARTUP_SDK ?? fileURLToPath(new URL("../dist/index.js", import.meta.url));
const before = process.env.BENCH_STARTUP_BEFORE;
const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 30);
const base = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-startup-"));
const env = {
  ...process.env,
  PYRO_STATE_DIR: path.join(base, "state"),
  PYRO_ENVIRONMENT_CACHE_DIR: path.join(base, "environments"),
  PYRO_BACKEND: "host",
};

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
spawnSync(process.execPath, [cli, "workspace", "exec", id, "--", "true"], { env });
try {
  const calls = {
    "node -e 0": ["-e", "0"],
    "pyro --version": [cli, "--version"],
    "pyro env list": [cli, "env", "list"],
    "pyro workspace status ID --json": [cli, "workspace", "status", id, "--json"],
    "pyro workspace logs ID": [cli, "workspace", "logs", id],
    "pyro workspace list": [cli, "workspace", "list"],
    ...(before === undefined
      ? {}
      : {
          "before: pyro --version": [before, "--version"],
          "before: pyro env list": [before, "env", "list"],
          "before: pyro workspace status ID --json": [before, "workspace", "status", id, "--json"],
          "before: pyro workspace logs ID": [before, "workspace", "logs", id],
          "before: pyro workspace list": [before, "workspace", "list"],
        }),
    'import("pyro-mcp") (SDK entry)': [
      "--input-type=module",
      "-e",
      `await import(${JSON.stringify(sdkEntry)})`,
    ],
  };
  // Warm the file cache (and, on Node 22.1+, the compile cache).
  for (const args of Object.values(calls)) for (let i = 0; i < 3; i += 1) timed(args);
  const samples = Object.fromEntries(Object.keys(calls).map((label) => [label, []]));
  for (let i = 0; i < ROUNDS; i += 1) {
    for (const [label, args] of Object.entries(calls)) samples[label].push(timed(args));
  }
  const baseline = median(samples["node -e 0"]);
  console.log(`CLI start-up (${ROUNDS} interleaved rounds, Node ${process.version}, medians)`);
  for (const [label, values] of Object.entries(samples)) {
    const value = median(values);
    console.log(
      `  ${label.padEnd(40)} ${value.toFixed(1).padStart(7)} ms  ${(value / baseline).toFixed(2)}x node -e 0`,
    );
  }
} finally {
  spawnSync(process.execPath, [cli, "workspace", "delete", id], { env });
  fs.rmSync(base, { recursive: true, force: true });
}
