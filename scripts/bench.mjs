// pyro benchmarks. Every number is printed next to a baseline measured in the same
// process on the same machine, so ratios stay meaningful on slow or busy hosts.
//
//   1. exec round trip on a warm host workspace vs a bare child_process spawn of the
//      same command;
//   2. workspace_diff on a 10,000-file tree with 100 changes vs `diff -ruN` on the same
//      two trees.
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { Manager } from "../dist/index.js";

const run = promisify(execFile);
const EXEC_ROUNDS = Number(process.env.BENCH_EXEC_ROUNDS ?? 200);
const DIFF_ROUNDS = Number(process.env.BENCH_DIFF_ROUNDS ?? 5);
const FILES = 10_000;
const CHANGES = 100;

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return {
    median: sorted[Math.floor(sorted.length / 2)],
    p95: sorted[Math.floor(sorted.length * 0.95)],
    mean,
  };
}

async function time(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function line(label, pyro, baseline) {
  const ratio = pyro.median / baseline.median;
  console.log(
    `${label}\n  pyro     median ${pyro.median.toFixed(2)} ms  p95 ${pyro.p95.toFixed(2)} ms\n` +
      `  baseline median ${baseline.median.toFixed(2)} ms  p95 ${baseline.p95.toFixed(2)} ms\n` +
      `  ratio (median) ${ratio.toFixed(2)}x`,
  );
}

const base = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-bench-"));
const manager = new Manager({ baseDir: path.join(base, "state"), backend: "host" });
try {
  // ---- 1. exec round trip --------------------------------------------------------------
  const command = "echo hello";
  const workspace = await manager.createWorkspace({ allow_host_compat: true });
  const id = workspace.workspace_id;
  for (let i = 0; i < 10; i += 1) await manager.execWorkspace(id, { command }); // warm up
  const pyroExec = [];
  const bareExec = [];
  for (let i = 0; i < EXEC_ROUNDS; i += 1) {
    // Interleave so both see the same machine load.
    pyroExec.push(await time(() => manager.execWorkspace(id, { command })));
    bareExec.push(await time(() => run("/bin/sh", ["-c", command])));
  }
  line(
    `exec round trip, warm host workspace, ${EXEC_ROUNDS} rounds ("${command}")`,
    stats(pyroExec),
    stats(bareExec),
  );
  await manager.deleteWorkspace(id);

  // ---- 2. diff on a 10,000-file tree ---------------------------------------------------
  const seed = path.join(base, "seed");
  for (let i = 0; i < FILES; i += 1) {
    const file = path.join(seed, `d${i % 100}`, `f${i}.txt`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `file ${i}\n${"line of text\n".repeat(20)}`);
  }
  const diffWorkspace = await manager.createWorkspace({ allow_host_compat: true, seed_path: seed });
  const changeCommand = Array.from(
    { length: CHANGES },
    (_, k) => `echo changed >> d${(k * 97) % 100}/f${k * 97}.txt`,
  ).join("; ");
  await manager.execWorkspace(diffWorkspace.workspace_id, { command: changeCommand });
  const current = path.join(base, "state", "workspaces", diffWorkspace.workspace_id, "workspace");

  // Let the files settle past the agent's racy window (2 s), as they would in real use
  // where a diff comes minutes after the workspace was seeded.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const coldStart = process.hrtime.bigint();
  const first = await manager.diffWorkspace(diffWorkspace.workspace_id);
  const cold = Number(process.hrtime.bigint() - coldStart) / 1e6;
  if (first.summary.modified !== CHANGES)
    throw new Error(`expected ${CHANGES} changes, got ${JSON.stringify(first.summary)}`);
  const cli = spawnSync("diff", ["-ruN", seed, current], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (cli.status !== 1) throw new Error(`diff -ruN exited ${cli.status}: ${cli.stderr}`);

  const pyroDiff = [];
  const cliDiff = [];
  for (let i = 0; i < DIFF_ROUNDS; i += 1) {
    pyroDiff.push(await time(() => manager.diffWorkspace(diffWorkspace.workspace_id)));
    cliDiff.push(
      await time(() =>
        run("diff", ["-ruN", seed, current], { maxBuffer: 1 << 28 }).catch((error) => {
          if (error.code !== 1) throw error;
        }),
      ),
    );
  }
  const cliStats = stats(cliDiff);
  console.log(
    `workspace_diff, first call (no cached digests; the baseline manifest is made at create)\n` +
      `  pyro ${cold.toFixed(2)} ms vs diff -ruN median ${cliStats.median.toFixed(2)} ms\n` +
      `  ratio ${(cold / cliStats.median).toFixed(2)}x`,
  );
  line(
    `workspace_diff, warm, ${FILES} files with ${CHANGES} changes, ${DIFF_ROUNDS} rounds (baseline: diff -ruN)`,
    stats(pyroDiff),
    cliStats,
  );
  await manager.deleteWorkspace(diffWorkspace.workspace_id);
} finally {
  manager.close();
  fs.rmSync(base, { recursive: true, force: true });
}
