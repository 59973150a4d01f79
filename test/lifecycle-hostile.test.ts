/**
 * Lifecycle under hostile conditions (issue 9): processes killed with SIGKILL mid-operation,
 * another local user's directories, input the kernel would refuse, the active-sandbox
 * limit and the host's memory. Host backend, real processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { describe, expect, it } from "vitest";

import { sandboxMarker } from "../src/process/ownership.js";
import { processIsAlive } from "../src/process/process-group.js";
import { hostSandboxPaths } from "../src/backends/host/host-backend.js";
import { Manager } from "../src/core/manager.js";
import { MAX_COMMAND_BYTES } from "../src/shared/limits.js";
import { PyroError } from "../src/errors.js";
import { invokeOperation } from "../src/operations/index.js";
import { exitOf, useTempState, waitFor, withEnv, writeTree } from "./helpers.js";

const state = useTempState();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "cli", "main.js");
const agentBundle = path.join(root, "dist", "agent", "pyro-agent.mjs");

async function newWorkspace(manager: Manager, files: Record<string, string> = { "a.txt": "a\n" }) {
  const seed = writeTree(fs.mkdtempSync(path.join(state.base(), "seed-")), files);
  return manager.createWorkspace({ allow_host_compat: true, seed_path: seed });
}

/** Live processes that carry this workspace's sandbox marker (its agent and what it ran). */
function sandboxProcesses(manager: Manager, workspaceId: string): number[] {
  const { stateDir } = hostSandboxPaths(manager.context.layout.workspaceDir(workspaceId));
  const needle = Buffer.from(`${sandboxMarker(stateDir)}\0`);
  const found: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/environ`).includes(needle) && processIsAlive(Number(name)))
        found.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

/** An agent that takes `delayMs` to start: a window to kill whoever is booting it. */
function slowAgent(delayMs: number): string {
  const file = path.join(state.base(), "slow-agent.mjs");
  fs.writeFileSync(
    file,
    `await new Promise((resolve) => setTimeout(resolve, ${delayMs}));\n` +
      `await import(${JSON.stringify(pathToFileURL(agentBundle).href)});\n`,
  );
  return file;
}

function startCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [cli, ...args], {
    stdio: "ignore",
    env: { ...process.env, PYRO_STATE_DIR: state.stateDir(), PYRO_BACKEND: "host", ...env },
  });
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = exitOf(child);
  child.kill("SIGKILL");
  await exited;
}

async function expectCode(promise: Promise<unknown>, code: string, fragment: string | RegExp) {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PyroError);
  expect((error as PyroError).code).toBe(code);
  expect((error as PyroError).message).toMatch(fragment);
}

describe("a reset killed with SIGKILL (host backend)", () => {
  it("shows resetting while it runs, stopped once its process is gone, and leaves no agent behind", async () => {
    const manager = state.manager();
    const created = await newWorkspace(manager);
    const id = created.workspace_id;
    const before = sandboxProcesses(manager, id);
    expect(before).toHaveLength(1);

    const reset = startCli(["workspace", "reset", id], { PYRO_AGENT_PATH: slowAgent(1_500) });
    // The new agent exists (booting) while the old one is gone: the reset is mid-way.
    await waitFor(() => {
      const now = sandboxProcesses(manager, id);
      return now.length > 0 && now.every((pid) => !before.includes(pid));
    }, 10_000);
    expect((await manager.statusWorkspace(id)).state).toBe("resetting");
    await killed(reset);
    expect(sandboxProcesses(manager, id).length).toBeGreaterThan(0); // the orphan

    // The dead holder's lock does not hold anyone up, and status tells the truth.
    const started = Date.now();
    const status = await manager.statusWorkspace(id);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(status.state).toBe("stopped");
    expect(status.last_error).toMatch(/reset was interrupted.*reset the workspace again/);
    // Settling the interrupted reset swept what it had booted.
    expect(sandboxProcesses(manager, id)).toEqual([]);

    const again = await manager.resetWorkspace(id);
    expect(again.state).toBe("started");
    expect((await manager.execWorkspace(id, { command: "cat a.txt" })).stdout).toBe("a\n");
    await manager.deleteWorkspace(id);
    expect(sandboxProcesses(manager, id)).toEqual([]);
  });

  it("a second reset and a delete right after the kill sweep the orphan agent", async () => {
    const manager = state.manager();
    const id = (await newWorkspace(manager)).workspace_id;
    const before = sandboxProcesses(manager, id);
    const reset = startCli(["workspace", "reset", id], { PYRO_AGENT_PATH: slowAgent(1_500) });
    await waitFor(() => {
      const now = sandboxProcesses(manager, id);
      return now.length > 0 && now.every((pid) => !before.includes(pid));
    }, 10_000);
    await killed(reset);
    const orphans = sandboxProcesses(manager, id);
    expect(orphans.length).toBeGreaterThan(0);

    const started = Date.now();
    await manager.resetWorkspace(id);
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const pid of orphans) expect(processIsAlive(pid)).toBe(false);
    await manager.deleteWorkspace(id);
    expect(sandboxProcesses(manager, id)).toEqual([]);
  });
});

describe("locks of killed holders", () => {
  it("a workspace lock whose holder was killed with SIGKILL is taken over at once", async () => {
    const manager = state.manager();
    const id = (await newWorkspace(manager)).workspace_id;
    const lockModule = pathToFileURL(path.join(root, "dist", "store", "lock.js")).href;
    const lockPath = manager.context.layout.lockFile("workspace", id);
    const holder = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { withLock } = await import(${JSON.stringify(lockModule)});
         await withLock(${JSON.stringify(lockPath)}, async () => {
           console.log("locked");
           await new Promise(() => setInterval(() => undefined, 1000));
         });`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => holder.stdout?.on("data", () => resolve()));
    await killed(holder);

    const started = Date.now();
    const result = await manager.execWorkspace(id, { command: "echo ok" });
    expect(result.stdout).toBe("ok\n");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a plain file where a lock goes (an older pyro's transfer-disk lock) is held while young, taken over when old", async () => {
    const { tryLock } = await import("../src/store/lock.js");
    const lockPath = path.join(state.base(), "runtime", "transfer.lock");
    fs.mkdirSync(path.dirname(lockPath), { recursive: true });
    fs.writeFileSync(lockPath, "");
    expect(await tryLock(lockPath)).toBeNull();
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(lockPath, past, past);
    const release = await tryLock(lockPath);
    expect(release).not.toBeNull();
    expect(fs.statSync(lockPath).isDirectory()).toBe(true);
    expect(await tryLock(lockPath)).toBeNull();
    await release?.();
    expect(fs.readdirSync(path.dirname(lockPath))).toEqual([]);
  });
});

describe("staging temp files", () => {
  it("are swept once the process that wrote them is gone", async () => {
    const manager = state.manager();
    const id = (await newWorkspace(manager)).workspace_id;
    const dir = manager.context.layout.workspaceDir(id);
    // A process that staged an upload and was killed (its pid and start time in the name).
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => dead.once("exit", resolve));
    const staging = path.join(dir, "staging");
    fs.mkdirSync(staging, { recursive: true });
    const leaked = path.join(staging, `.source.tar.tmp-${dead.pid}-12345-abcdef012345`);
    fs.writeFileSync(leaked, "x".repeat(1000));
    const snapshotTemp = path.join(
      manager.context.layout.snapshotsDir(id),
      `.s.tar.tmp-${dead.pid}-12345-abcdef012345`,
    );
    fs.mkdirSync(path.dirname(snapshotTemp), { recursive: true });
    fs.writeFileSync(snapshotTemp, "y");
    // One of a live writer (this process) stays.
    const { tempSibling } = await import("../src/store/atomic.js");
    const live = tempSibling(path.join(staging, "export.tar"));
    fs.writeFileSync(live, "z");

    await manager.statusWorkspace(id);
    expect(fs.existsSync(leaked)).toBe(false);
    expect(fs.existsSync(snapshotTemp)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    fs.rmSync(live);
  });
});

describe("the socket of a deep state directory", () => {
  it("stays in the sandbox's private runtime directory; a shared temp dir is never used", async () => {
    // Another local user pre-created the old fallback directory, open to everyone.
    const tmp = fs.mkdtempSync(path.join(state.base(), "tmp-"));
    const hijack = path.join(tmp, `pyro-sockets-${process.getuid?.() ?? "user"}`);
    fs.mkdirSync(hijack, { mode: 0o777 });
    fs.chmodSync(hijack, 0o777);
    const deep = path.join(state.base(), "d".repeat(60), "e".repeat(60), "state");
    const manager = new Manager({ baseDir: deep, backend: "host" });
    try {
      await withEnv({ TMPDIR: tmp }, async () => {
        const created = await manager.createWorkspace({ allow_host_compat: true });
        const id = created.workspace_id;
        const record = JSON.parse(
          fs.readFileSync(manager.context.layout.workspaceRecord(id), "utf8"),
        ) as { runtime: { socket_path: string } };
        const socketPath = record.runtime.socket_path;
        expect(Buffer.byteLength(socketPath)).toBeGreaterThan(107);
        expect(socketPath.startsWith(`${manager.context.layout.workspaceDir(id)}/runtime/`)).toBe(
          true,
        );
        expect(fs.readdirSync(hijack)).toEqual([]);
        expect(fs.statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o700);
        expect((await manager.execWorkspace(id, { command: "echo deep" })).stdout).toBe("deep\n");
        await manager.resetWorkspace(id);
        await manager.deleteWorkspace(id);
      });
    } finally {
      manager.close();
    }
  });
});

describe("input the kernel would refuse", () => {
  it("a command over 128 KiB is refused naming the field and the limit", async () => {
    const manager = state.manager();
    const id = (await newWorkspace(manager)).workspace_id;
    const long = `echo ${"x".repeat(MAX_COMMAND_BYTES)}`;
    await expectCode(
      manager.execWorkspace(id, { command: long }),
      "invalid_argument",
      /command must be at most 131071 bytes.*got 131076 bytes/,
    );
    await expectCode(
      manager.startService(id, "big", { command: long }),
      "invalid_argument",
      /command must be at most 131071 bytes/,
    );
    await expectCode(
      manager.startService(id, "probe", {
        command: "sleep 60",
        readiness: { type: "command", command: long },
      }),
      "invalid_argument",
      /readiness\.command must be at most 131071 bytes/,
    );
    await expectCode(
      manager.runVm({ allow_host_compat: true, command: long }),
      "invalid_argument",
      /command must be at most/,
    );
    // Exactly at the limit still runs.
    const atLimit = `: ${"x".repeat(MAX_COMMAND_BYTES - 2)}`;
    expect((await manager.execWorkspace(id, { command: atLimit })).exit_code).toBe(0);
  });

  it("a NUL in a host path field is refused at the edge", async () => {
    const manager = state.manager();
    const id = (await newWorkspace(manager)).workspace_id;
    for (const [operation, input] of [
      ["workspace_export", { workspace_id: id, path: "a.txt", output_path: "/tmp/x\0y" }],
      ["workspace_sync_push", { workspace_id: id, source_path: "/tmp/x\0y" }],
      ["workspace_create", { allow_host_compat: true, seed_path: "/tmp/x\0y" }],
    ] as const) {
      await expectCode(
        invokeOperation(manager, operation, input),
        "invalid_argument",
        /must not contain NUL bytes/,
      );
    }
  });

  it("a path too long for the system is invalid_argument naming the path, not internal", async () => {
    const manager = state.manager();
    const id = (await newWorkspace(manager)).workspace_id;
    const longName = path.join(state.base(), "n".repeat(300));
    await expectCode(
      manager.exportWorkspace(id, { path: "a.txt", output_path: longName }),
      "invalid_argument",
      /output_path has a name longer than 255 bytes/,
    );
    const longPath = path.join(state.base(), ...Array.from({ length: 40 }, () => "p".repeat(120)));
    await expectCode(
      manager.pushWorkspaceSync(id, { source_path: longPath }),
      "invalid_argument",
      /source_path is too long/,
    );
    // Inside the sandbox, the agent's ENAMETOOLONG is reported the same way.
    await expectCode(
      manager.pushWorkspaceSync(id, {
        source_path: writeTree(fs.mkdtempSync(path.join(state.base(), "src-")), { f: "f" }),
        dest: `/workspace/${"q".repeat(300)}`,
      }),
      "invalid_argument",
      /path too long/,
    );
  });

  it("a full disk is a no_space error, not a pyro bug", async () => {
    const { asPyroError } = await import("../src/errors.js");
    let caught: unknown;
    try {
      // /dev/full answers every write with ENOSPC.
      fs.writeFileSync("/dev/full", "x");
    } catch (error) {
      caught = error;
    }
    const mapped = asPyroError(caught);
    expect(mapped.code).toBe("no_space");
    expect(mapped.message).toMatch(/^no space left on the device: ENOSPC.*free some space/);
  });

  it("sync push of a plain file names source_path, not seed_path", async () => {
    const manager = state.manager();
    const id = (await newWorkspace(manager)).workspace_id;
    const file = path.join(state.base(), "notes.txt");
    fs.writeFileSync(file, "hi\n");
    await expectCode(
      manager.pushWorkspaceSync(id, { source_path: file }),
      "invalid_argument",
      /^source_path must be a directory or a \.tar/,
    );
  });
});

describe("limits", () => {
  it("workspaces count toward the max active VMs", async () => {
    const manager = state.manager({ maxActiveVms: 2 });
    const first = await newWorkspace(manager);
    await manager.createVm({ allow_host_compat: true });
    await expectCode(newWorkspace(manager), "limit_exceeded", /max active VMs reached \(2/);
    await expectCode(
      manager.createVm({ allow_host_compat: true }),
      "limit_exceeded",
      /max active VMs reached/,
    );
    // A failed create leaves nothing behind.
    expect(fs.readdirSync(manager.context.layout.workspacesDir)).toEqual([first.workspace_id]);
    await manager.deleteWorkspace(first.workspace_id);
    await newWorkspace(manager);
  });

  it("mem_mib above the host's memory is refused", async () => {
    const manager = state.manager();
    const hostMib = Math.floor(os.totalmem() / (1024 * 1024));
    const tooMuch = hostMib + 1;
    if (tooMuch > 32768) return; // a host with more than the contract's maximum
    await expectCode(
      manager.createWorkspace({ allow_host_compat: true, mem_mib: tooMuch }),
      "invalid_argument",
      new RegExp(`mem_mib must not exceed the host's memory \\(${hostMib} MiB\\), got ${tooMuch}`),
    );
    await expectCode(
      manager.createVm({ allow_host_compat: true, mem_mib: tooMuch }),
      "invalid_argument",
      /mem_mib must not exceed the host's memory/,
    );
  });
});
