/**
 * QEMU-only checks of the real-guest tier (the flows every backend passes are in
 * conformance.test.ts): the milestone's smoke test through the built CLI, failed boots and
 * resets, and VMs orphaned by a create that died. Skipped where qemu or the debian:12
 * environment is missing, except under CI, where conformance.test.ts makes that a failure.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { processIsAlive } from "../src/process/process-group.js";
import type { SandboxSpec } from "../src/backends/types.js";
import type { Manager } from "../src/core/manager.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { guestSpec, useTempState, withEnv } from "./helpers.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** A booted-by-hand sandbox (no record), as a create killed half-way would leave. */
function smallGuest(sandboxId: string, sandboxDir: string, expiresAt: number): SandboxSpec {
  return guestSpec(sandboxDir, { sandboxId, memMib: 256, expiresAt });
}

async function requireQemu(skip: (note?: string) => void): Promise<void> {
  const reason = await qemuUnavailableReason();
  if (reason) skip(reason);
}

describe("qemu backend: the CLI smoke test and failed boots", () => {
  const state = useTempState();

  const qemuManager = async (skip: (note?: string) => void): Promise<Manager> => {
    await requireQemu(skip);
    return state.manager({ backend: "qemu" });
  };

  it(
    "passes the milestone's smoke test through the built CLI on a real guest",
    {
      timeout: 240_000,
    },
    async ({ skip }) => {
      await requireQemu(skip);
      const smoke = spawnSync(process.execPath, [path.join(root, "scripts", "smoke.mjs")], {
        encoding: "utf8",
        env: { ...process.env, PYRO_BACKEND: "qemu", PYRO_STATE_DIR: state.stateDir() },
      });
      expect(smoke.stderr).toBe("");
      expect(smoke.status).toBe(0);
      expect(smoke.stdout).toContain("execution_mode guest_serial");
      expect(smoke.stdout).toContain("smoke: create/snapshot/reset/diff OK");
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "leaves a workspace whose reset failed mid-boot stopped, with nothing running, and repairable",
    {
      timeout: 240_000,
    },
    async ({ skip }) => {
      const pyro = await qemuManager(skip);
      const { workspace_id: id } = await pyro.createWorkspace({});
      await pyro.execWorkspace(id, { command: "echo safe > kept.txt" });
      await pyro.createSnapshot(id, "kept");
      // A cold boot: a restore from a template answers within 1 s.
      await withEnv({ PYRO_BOOT_TIMEOUT_SECONDS: "1", PYRO_QEMU_TEMPLATES: "0" }, () =>
        expect(pyro.resetWorkspace(id, { snapshot: "kept" })).rejects.toThrow("guest boot failed"),
      );
      const failed = await pyro.statusWorkspace(id);
      expect(failed.state).toBe("stopped");
      expect(failed.reset_count).toBe(0);
      expect(failed.last_error).toContain("reset to snapshot 'kept' failed");
      expect(qemuProcessesUnder(state.base())).toEqual([]);
      expect(fs.existsSync(path.join(pyro.context.layout.workspaceDir(id), "runtime"))).toBe(false);

      const repaired = await pyro.resetWorkspace(id, { snapshot: "kept" });
      expect(repaired.state).toBe("started");
      expect(repaired.reset_count).toBe(1);
      expect((await pyro.execWorkspace(id, { command: "cat kept.txt" })).stdout).toBe("safe\n");
      await pyro.deleteWorkspace(id);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "stops the VM of a create that died before writing its record, when reaping",
    {
      timeout: 120_000,
    },
    async ({ skip }) => {
      const pyro = await qemuManager(skip);
      // What a create killed between boot and its first record write leaves behind: a
      // workspace directory with a running VM in it and no workspace.json.
      const sandboxDir = pyro.context.layout.workspaceDir("orphan000001");
      fs.mkdirSync(sandboxDir, { recursive: true });
      const runtime = await pyro.context.backends
        .get("qemu")
        .boot(smallGuest("orphan000001", sandboxDir, Date.now() / 1000 + 600));
      expect(processIsAlive(runtime.vmm_pid ?? -1)).toBe(true);
      expect(await pyro.reapExpired()).toMatchObject({ workspace_ids: ["orphan000001"] });
      expect(fs.existsSync(sandboxDir)).toBe(false);
      expect(processIsAlive(runtime.pid)).toBe(false);
      expect(processIsAlive(runtime.vmm_pid ?? -1)).toBe(false);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "stops a VM at its TTL even when no pyro process is around to do it",
    {
      timeout: 150_000,
    },
    async ({ skip }) => {
      const pyro = await qemuManager(skip);
      const backend = pyro.context.backends.get("qemu");
      const sandboxDir = pyro.context.layout.vmDir("ttl000000001");
      fs.mkdirSync(sandboxDir, { recursive: true });
      // Below the contract's 60 s minimum, which only the manager enforces: the supervisor
      // itself must honour whatever deadline it was given.
      const spec = smallGuest("ttl000000001", sandboxDir, Date.now() / 1000 + 40);
      const runtime = await backend.boot(spec);
      await expect
        .poll(() => backend.isAlive(runtime), { timeout: 70_000, interval: 200 })
        .toBe(false);
      expect(await backend.deathReason(runtime, spec)).toContain("the sandbox reached its TTL");
      expect(processIsAlive(runtime.vmm_pid ?? -1)).toBe(false);
      await backend.destroy(runtime, spec);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "explains a boot that misses its deadline and leaves no VM, disk or workspace",
    {
      timeout: 60_000,
    },
    async ({ skip }) => {
      const pyro = await qemuManager(skip);
      // A cold boot: a restore from a template answers within 1 s.
      await withEnv({ PYRO_BOOT_TIMEOUT_SECONDS: "1", PYRO_QEMU_TEMPLATES: "0" }, () =>
        expect(pyro.createWorkspace({})).rejects.toThrow(
          /guest boot failed: boot failed: the guest agent did not answer within 1 s; guest console:/,
        ),
      );
      expect(fs.readdirSync(pyro.context.layout.workspacesDir)).toEqual([]);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );
});

/**
 * The guest clock against the host's, read in one exec: the guest read its clock while the
 * exec ran, so the offset lies between `lowest` and `highest` (ms, guest minus host).
 * `skew` is how far `file`'s mtime lies ahead of the guest's clock (make's "clock skew").
 */
async function guestClock(pyro: Manager, id: string, file?: string) {
  const before = Date.now();
  const result = await pyro.execWorkspace(id, {
    command:
      "date +%s.%N; cat /sys/devices/system/clocksource/clocksource0/current_clocksource" +
      "; cat /proc/sys/kernel/randomize_va_space" +
      (file ? `; find ${file} -printf '%T@\\n'` : ""),
  });
  const after = Date.now();
  const [guest = "", source = "", aslr = "", mtime] = result.stdout.trim().split("\n");
  const guestMs = Number(guest) * 1000;
  return {
    lowest: guestMs - after,
    highest: guestMs - before,
    source,
    aslr,
    skew: mtime === undefined ? null : Number(mtime) * 1000 - guestMs,
  };
}

describe("qemu backend: the guest clock", () => {
  const state = useTempState();

  it(
    "stays within 0.5 s of the host's across boots and resets under load, and after pushes",
    { timeout: 600_000 },
    async ({ skip }) => {
      await requireQemu(skip);
      const pyro = state.manager({ backend: "qemu" });
      // Two CPU burners: a TCG guest's clock fell 9-12 s behind after resets like this.
      const burners = [0, 1].map(() =>
        spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }),
      );
      const pushDir = path.join(state.base(), "push");
      fs.mkdirSync(pushDir);
      const samples: Array<Awaited<ReturnType<typeof guestClock>>> = [];
      try {
        // Four boots under this load can outlast the default 10-minute lifetime.
        const { workspace_id: id } = await pyro.createWorkspace({ ttl_seconds: 3600 });
        for (let boot = 0; boot < 4; boot += 1) {
          if (boot > 0) await pyro.resetWorkspace(id);
          samples.push(await guestClock(pyro, id));
          fs.writeFileSync(path.join(pushDir, "main.c"), `int main(void) { return ${boot}; }\n`);
          await pyro.pushWorkspaceSync(id, { source_path: pushDir, dest: "/workspace/src" });
          samples.push(await guestClock(pyro, id, "/workspace/src/main.c"));
        }
        await pyro.deleteWorkspace(id);
      } finally {
        for (const burner of burners) burner.kill("SIGKILL");
      }
      for (const sample of samples) {
        // Never refined-jiffies, which loses time with every tick a busy host misses.
        expect(sample.source).toBe("tsc");
        // TCG, as the clocksource says: no address-space randomization (norandmaps), so
        // each new process reuses the translations of those before it.
        expect(sample.aslr).toBe("0");
        // Some offset within 0.5 s is consistent with what the guest printed.
        expect(sample.lowest, JSON.stringify(sample)).toBeLessThanOrEqual(500);
        expect(sample.highest, JSON.stringify(sample)).toBeGreaterThanOrEqual(-500);
        // A file pushed from the host is never in the guest's future.
        if (sample.skew !== null) expect(sample.skew).toBeLessThan(500);
      }
    },
  );
});
