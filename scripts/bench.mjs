// pyro benchmarks. Every number is printed next to a baseline measured in the same
// process on the same machine, so ratios stay meaningful on slow or busy hosts.
//
//   1. exec round trip on a warm host workspace vs a bare child_process spawn of the
//      same command;
//   2. workspace_diff on a 10,000-file tree with 100 changes vs `diff -ruN` on the same
//      two trees;
//   3. keystroke echo through an attached shell vs a local PTY (and vs polling reads);
//   4. (first) the size of `pyro mcp serve`'s tools/list per profile vs its 32 KB goal.
//
// BENCH_ONLY=mcp-tools-list runs only section 4 (BENCH_ONLY=host: only sections 1-3).
import { Buffer } from "node:buffer";
import { execFile, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

import { Manager } from "../dist/runtime.js";

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

const only = (process.env.BENCH_ONLY ?? "").split(",").filter(Boolean);
if (only.length === 0 || only.includes("mcp-tools-list")) await benchToolsList();
if (only.length > 0 && !only.includes("host")) process.exit(0);

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

// ---- 3. keystroke echo through an attached shell ------------------------------------------
// What a person at `pyro workspace attach` feels: one key typed into the shell's PTY until
// its echo is back. pyro writes the key (shell_write) and holds a waiting read
// (shell_read wait_seconds), as attach does; "polling" is how a client had to read before
// wait_seconds (shell_read every 25 ms); the baseline is the same `script` PTY relay as a
// local child process, written and read over its pipes. A `cat` runs in both terminals so
// the echo comes from the line discipline alone.
{
  const ECHO_ROUNDS = Number(process.env.BENCH_ECHO_ROUNDS ?? 100);
  const echoBase = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-bench-echo-"));
  const echoManager = new Manager({ baseDir: path.join(echoBase, "state"), backend: "host" });
  const local = spawn("script", ["-qfec", "stty cols 120 rows 30; exec cat", "/dev/null"], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  try {
    const { workspace_id: id } = await echoManager.createWorkspace({ allow_host_compat: true });
    const { shell_id: shellId } = await echoManager.openShell(id);
    await echoManager.writeShell(id, shellId, { input: "exec cat" });
    let cursor = 0;
    const drain = async () => {
      for (;;) {
        const read = await echoManager.readShell(id, shellId, { cursor, wait_seconds: 0.3 });
        cursor = read.next_cursor;
        if (read.output === "") return;
      }
    };
    await drain();
    const waited = async () => {
      await echoManager.writeShell(id, shellId, { input: "x", append_newline: false });
      for (;;) {
        const read = await echoManager.readShell(id, shellId, { cursor, wait_seconds: 5 });
        cursor = read.next_cursor;
        if (read.output.includes("x")) return;
      }
    };
    const polled = async () => {
      await echoManager.writeShell(id, shellId, { input: "x", append_newline: false });
      for (;;) {
        const read = await echoManager.readShell(id, shellId, { cursor });
        cursor = read.next_cursor;
        if (read.output.includes("x")) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    let pending = null;
    local.stdout.on("data", (chunk) => {
      if (pending && chunk.includes("x")) {
        const resolve = pending;
        pending = null;
        resolve();
      }
    });
    const bare = () =>
      new Promise((resolve) => {
        pending = resolve;
        local.stdin.write("x");
      });
    for (let i = 0; i < 5; i += 1) await waited(); // warm up
    const waitedEcho = [];
    const polledEcho = [];
    const bareEcho = [];
    for (let i = 0; i < ECHO_ROUNDS; i += 1) {
      waitedEcho.push(await time(waited));
      polledEcho.push(await time(polled));
      bareEcho.push(await time(bare));
    }
    line(
      `keystroke echo, attached host shell (shell_write + waiting shell_read), ${ECHO_ROUNDS} rounds (baseline: a local script PTY)`,
      stats(waitedEcho),
      stats(bareEcho),
    );
    line(
      `keystroke echo, polling shell_read every 25 ms (before wait_seconds) vs waiting read`,
      stats(polledEcho),
      stats(waitedEcho),
    );
    await echoManager.deleteWorkspace(id);
  } finally {
    local.kill();
    echoManager.close();
    fs.rmSync(echoBase, { recursive: true, force: true });
  }
}

// ---- 4. tools/list size per MCP profile ------------------------------------------------------
// A client sends the whole tool list to its model in every conversation: the bytes of
// `tools/list` (the result's JSON, as sent) per profile, next to the 32 KB goal of the
// workspace-full profile (test/mcp-tools-size.test.ts fails above it).
async function benchToolsList() {
  const GOAL = 32 * 1024;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-bench-mcp-"));
  try {
    console.log(`tools/list size per MCP profile (goal: workspace-full <= ${GOAL} bytes)`);
    for (const profile of ["vm-run", "workspace-core", "workspace-full"]) {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [
          path.join(import.meta.dirname, "..", "dist", "cli", "main.js"),
          "mcp",
          "serve",
        ].concat(["--profile", profile]),
        env: { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_BACKEND: "host" },
        stderr: "ignore",
      });
      const client = new Client({ name: "pyro-bench", version: "0.0.0" });
      await client.connect(transport);
      const listed = await client.listTools();
      await client.close();
      const bytes = Buffer.byteLength(JSON.stringify(listed));
      const outputs = listed.tools.reduce(
        (sum, tool) => sum + Buffer.byteLength(JSON.stringify(tool.outputSchema ?? {})),
        0,
      );
      console.log(
        `  ${profile.padEnd(15)} ${String(listed.tools.length).padStart(2)} tools  ${String(bytes).padStart(6)} bytes` +
          ` (output schemas ${outputs})  ratio to goal ${(bytes / GOAL).toFixed(2)}x`,
      );
    }
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
