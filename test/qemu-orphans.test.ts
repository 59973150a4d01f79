/**
 * QEMU-only: no VM outlives a pyro process killed with SIGKILL mid-reset (issue 9). The
 * state directory is deep enough that every socket path overflows sun_path, so the same
 * boots prove that sockets stay in the sandbox's runtime directory on a real guest.
 * Skipped where qemu or the debian:12 environment is missing (conformance.test.ts makes
 * that a failure under CI). Run under `flock /tmp/pyro-guest.lock`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { processIsAlive } from "../src/process/process-group.js";
import { Manager } from "../src/core/manager.js";
import { qemuUnavailableReason } from "./guest-helpers.js";
import { exitOf, useTempState, waitFor, writeTree } from "./helpers.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "cli", "main.js");

/** Live processes whose command line mentions `needle` (supervisors and qemu of a dir). */
function processesNaming(needle: string): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (cmdline.includes(needle) && processIsAlive(Number(name))) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function readPid(file: string): number | null {
  try {
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { pid: number }).pid;
  } catch {
    return null;
  }
}

describe("qemu backend: a reset killed with SIGKILL", () => {
  const state = useTempState();

  it(
    "leaves no supervisor or qemu running through a second reset and a delete",
    { timeout: 300_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      // Deep enough that runtime/agent.sock is longer than sun_path's 107 bytes.
      const baseDir = path.join(state.base(), "s".repeat(50), "t".repeat(50), "state");
      const pyro = new Manager({ baseDir, backend: "qemu" });
      try {
        const seed = writeTree(fs.mkdtempSync(path.join(state.base(), "seed-")), {
          "kept.txt": "kept\n",
        });
        const created = await pyro.createWorkspace({ seed_path: seed, mem_mib: 512 });
        const id = created.workspace_id;
        const dir = pyro.context.layout.workspaceDir(id);
        const runtimeDir = path.join(dir, "runtime");
        expect(Buffer.byteLength(path.join(runtimeDir, "agent.sock"))).toBeGreaterThan(107);
        expect((await pyro.execWorkspace(id, { command: "cat kept.txt" })).stdout).toBe("kept\n");
        const firstSupervisor = readPid(path.join(runtimeDir, "supervisor.pid"));
        expect(firstSupervisor).not.toBeNull();

        const reset = spawn(process.execPath, [cli, "workspace", "reset", id], {
          stdio: "ignore",
          env: { ...process.env, PYRO_STATE_DIR: baseDir, PYRO_BACKEND: "qemu" },
        });
        // The new VM's supervisor is up (it wrote its pid, then started qemu): kill the reset.
        await waitFor(() => {
          const pid = readPid(path.join(runtimeDir, "supervisor.pid"));
          return (
            pid !== null &&
            pid !== firstSupervisor &&
            fs.existsSync(path.join(runtimeDir, "vmm.pid"))
          );
        }, 60_000);
        expect((await pyro.statusWorkspace(id)).state).toBe("resetting");
        const exited = exitOf(reset);
        reset.kill("SIGKILL");
        await exited;
        const orphans = processesNaming(dir);
        expect(orphans.length).toBeGreaterThanOrEqual(2); // the supervisor and its qemu

        const repaired = await pyro.resetWorkspace(id);
        expect(repaired.state).toBe("started");
        for (const pid of orphans) expect(processIsAlive(pid)).toBe(false);
        expect((await pyro.execWorkspace(id, { command: "cat kept.txt" })).stdout).toBe("kept\n");

        await pyro.deleteWorkspace(id);
        expect(processesNaming(dir)).toEqual([]);
        expect(processesNaming(baseDir)).toEqual([]);
      } finally {
        pyro.close();
      }
    },
  );
});
