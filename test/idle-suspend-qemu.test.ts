/**
 * Idle suspension on a real guest (issue 12's idle memory, docs/qemu-backend.md "Idle
 * suspension"): a workspace's guest idle past PYRO_IDLE_SUSPEND_SECONDS is saved to a file
 * and its qemu exits; the next call resumes the same guest (same boot, same files, clock in
 * step), an open shell keeps it up, status and list do not wake it, a seal's new volume
 * layer is the one it resumes on, and a resume that fails leaves the workspace stopped with
 * its volume readable and startable (a fresh guest on the kept volume). One workspace serves every check but the failure. Skipped where qemu
 * or the debian:12 environment is missing. Run under `flock /tmp/pyro-guest.lock`.
 */
import fs from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Manager } from "../src/core/manager.js";
import { processIsAlive } from "../src/process/process-group.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";

const IDLE_SECONDS = 3;

function runtimeDir(pyro: Manager, id: string): string {
  return path.join(pyro.context.layout.workspaceDir(id), "runtime");
}

function suspended(pyro: Manager, id: string): boolean {
  return fs.existsSync(path.join(runtimeDir(pyro, id), "suspended.json"));
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The workspace record's runtime: the supervisor's pid and the first qemu's. */
function runtimeOf(pyro: Manager, id: string): { pid: number; vmm_pid: number } {
  const file = path.join(pyro.context.layout.workspaceDir(id), "workspace.json");
  return (
    JSON.parse(fs.readFileSync(file, "utf8")) as { runtime: { pid: number; vmm_pid: number } }
  ).runtime;
}

function rssMib(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function guestFacts(pyro: Manager, id: string) {
  const result = await pyro.execWorkspace(id, {
    command: "cat /proc/sys/kernel/random/boot_id; date +%s.%N; cat /workspace/a",
  });
  expect(result.exit_code).toBe(0);
  const [bootId, guestTime, content] = result.stdout.trim().split("\n");
  return { bootId, offset: Number(guestTime) - Date.now() / 1000, content };
}

describe("qemu backend: idle workspaces are suspended and resumed", () => {
  const state = useTempState();
  const saved = process.env.PYRO_IDLE_SUSPEND_SECONDS;
  beforeAll(() => {
    process.env.PYRO_IDLE_SUSPEND_SECONDS = String(IDLE_SECONDS);
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.PYRO_IDLE_SUSPEND_SECONDS;
    else process.env.PYRO_IDLE_SUSPEND_SECONDS = saved;
  });

  it(
    "suspends an idle guest, keeps a busy one, and resumes the same guest for the next call",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({});
      await pyro.execWorkspace(id, { command: "echo one > /workspace/a" });
      const before = await guestFacts(pyro, id);
      const runtime = runtimeOf(pyro, id);
      const supervisor = runtime.pid;

      // An open shell is work in progress: the guest stays up well past the idle time.
      const shell = await pyro.openShell(id, {});
      await new Promise((resolve) => setTimeout(resolve, (IDLE_SECONDS * 3 + 2) * 1000));
      expect(suspended(pyro, id)).toBe(false);
      expect(processIsAlive(runtime.vmm_pid)).toBe(true);
      await pyro.closeShell(id, shell.shell_id);

      // Idle: saved, and qemu gone; the supervisor alone holds the workspace.
      await waitUntil("the guest is suspended", () => suspended(pyro, id));
      await waitUntil("qemu exits", () => !processIsAlive(runtime.vmm_pid), 10_000);
      expect(qemuProcessesUnder(pyro.context.layout.workspaceDir(id))).toEqual([]);
      expect(rssMib(supervisor)).toBeLessThan(150);
      // Status and list answer without waking it.
      const status = await pyro.statusWorkspace(id);
      expect(status).toMatchObject({ state: "started", last_error: null });
      expect((await pyro.listWorkspaces()).workspaces[0]).toMatchObject({ state: "started" });
      expect(suspended(pyro, id)).toBe(true);

      // The first call after it is an upload (which cannot be retried on a stale
      // connection): the pool's connection the suspend closed is replaced first.
      const source = fs.mkdtempSync(path.join(state.base(), "push-"));
      fs.writeFileSync(path.join(source, "pushed.txt"), "pushed\n");
      await pyro.pushWorkspaceSync(id, { source_path: source });
      const after = await guestFacts(pyro, id);
      expect(after.bootId).toBe(before.bootId); // the same guest, not a new boot
      expect(after.content).toBe("one");
      expect(Math.abs(after.offset)).toBeLessThan(0.5);
      expect(suspended(pyro, id)).toBe(false);
      expect(fs.existsSync(path.join(runtimeDir(pyro, id), "suspended.state"))).toBe(false);

      // A seal switches the volume to a new layer while the guest runs: the resumed guest
      // must write on that layer, not into the sealed snapshot it was booted on.
      await pyro.createSnapshot(id, "s1");
      await waitUntil("the guest is suspended again", () => suspended(pyro, id));
      await pyro.execWorkspace(id, { command: "echo two > /workspace/a && sync" });
      expect((await guestFacts(pyro, id)).content).toBe("two");
      const index = JSON.parse(
        fs.readFileSync(
          path.join(pyro.context.layout.workspaceDir(id), "volume", "index.json"),
          "utf8",
        ),
      ) as { top: string; points: Record<string, string> };
      expect(index.top).not.toBe(index.points.s1);
      const vmm = JSON.parse(
        fs.readFileSync(path.join(runtimeDir(pyro, id), "vmm.pid"), "utf8"),
      ) as { pid: number };
      const drive = fs
        .readFileSync(`/proc/${vmm.pid}/cmdline`, "utf8")
        .split("\0")
        .find((arg) => arg.startsWith("id=workspace,"));
      expect(drive).toContain(`/volume/${index.top}.qcow2,`);
      await pyro.resetWorkspace(id, { snapshot: "s1" });
      const reset = await pyro.execWorkspace(id, {
        command: "cat /workspace/a /workspace/pushed.txt",
      });
      expect(reset.stdout).toBe("one\npushed\n");

      // Deleting a suspended workspace leaves nothing running.
      await waitUntil("the reset guest is suspended", () => suspended(pyro, id));
      const dir = pyro.context.layout.workspaceDir(id);
      const current = runtimeOf(pyro, id);
      await pyro.deleteWorkspace(id);
      expect(processIsAlive(current.pid)).toBe(false);
      expect(fs.existsSync(dir)).toBe(false);
    },
  );

  it(
    "leaves the workspace stopped, its volume readable, when a resume fails",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({});
      await pyro.execWorkspace(id, { command: "echo kept > /workspace/k" });
      await waitUntil("the guest is suspended", () => suspended(pyro, id));
      // A damaged saved state: qemu cannot load it.
      fs.truncateSync(path.join(runtimeDir(pyro, id), "suspended.state"), 4096);
      await expect(pyro.execWorkspace(id, { command: "true" })).rejects.toMatchObject({
        code: "backend_error",
      });
      const status = await pyro.statusWorkspace(id);
      expect(status.state).toBe("stopped");
      expect(status.last_error).toMatch(/resuming the suspended guest failed/);
      expect(qemuProcessesUnder(pyro.context.layout.workspaceDir(id))).toEqual([]);
      expect(fs.existsSync(runtimeDir(pyro, id))).toBe(false);
      const read = await pyro.readWorkspaceDisk(id, { path: "k" });
      expect(read.content).toBe("kept\n");
      // The guest's own disk ended with its VM; a start boots a fresh one on the volume.
      const started = await pyro.startWorkspace(id);
      expect(started.state).toBe("started");
      const after = await pyro.execWorkspace(id, { command: "cat /workspace/k" });
      expect(after.stdout).toBe("kept\n");

      // kill -9 of a suspended guest's supervisor: the next call finds it dead and nothing
      // of it stays, the saved memory included.
      await waitUntil("the fresh guest is suspended", () => suspended(pyro, id));
      const killedPid = runtimeOf(pyro, id).pid;
      process.kill(killedPid, "SIGKILL");
      await waitUntil("the supervisor is gone", () => !processIsAlive(killedPid), 10_000);
      const killed = await pyro.statusWorkspace(id);
      expect(killed.state).toBe("stopped");
      expect(fs.existsSync(runtimeDir(pyro, id))).toBe(false);
      expect(qemuProcessesUnder(pyro.context.layout.workspaceDir(id))).toEqual([]);
      await pyro.deleteWorkspace(id);
    },
  );
});
