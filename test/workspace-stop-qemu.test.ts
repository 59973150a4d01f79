/**
 * workspace_stop / workspace_start on a real guest (issue 15): stop flushes the guest's
 * filesystem and leaves no qemu or supervisor behind; start boots the kept disk, so
 * /workspace and a file written just before the stop (never synced by the command) are
 * there, and nothing was reset. Skipped where qemu or the debian:12 environment is missing.
 */
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { processIsAlive } from "../src/process/process-group.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";

describe("qemu backend: workspace stop and start", () => {
  const state = useTempState();

  it(
    "stops with no qemu left and starts on the same /workspace without a reset",
    { timeout: 300_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({ name: "guest" });
      await pyro.execWorkspace(id, {
        command: "mkdir -p src && echo 'int main;' > src/a.c && echo before-stop > kept.txt",
      });
      const recordFile = path.join(state.stateDir(), "workspaces", id, "workspace.json");
      const runtime = JSON.parse(fs.readFileSync(recordFile, "utf8")).runtime as {
        pid: number;
        vmm_pid: number;
      };

      const stopped = await pyro.stopWorkspace(id);
      expect(stopped).toMatchObject({ state: "stopped", reset_count: 0 });
      expect(qemuProcessesUnder(state.base())).toEqual([]);
      expect(processIsAlive(runtime.pid)).toBe(false);
      expect(processIsAlive(runtime.vmm_pid)).toBe(false);
      expect(fs.existsSync(path.join(state.stateDir(), "workspaces", id, "disk.qcow2"))).toBe(true);
      await expect(pyro.execWorkspace(id, { command: "true" })).rejects.toThrow("workspace_start");

      const started = await pyro.startWorkspace(id);
      expect(started).toMatchObject({ state: "started", reset_count: 0, command_count: 1 });
      const read = await pyro.execWorkspace(id, { command: "cat kept.txt src/a.c" });
      expect(read).toMatchObject({ exit_code: 0, stdout: "before-stop\nint main;\n" });
      expect((await pyro.diffWorkspace(id)).summary.added).toBe(2);

      await pyro.deleteWorkspace(id);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );
});
