import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { processIsAlive } from "../src/process/process-group.js";
import { useTempState, withEnv, writeTree } from "./helpers.js";

const state = useTempState();

function workspaceFile(id: string, ...parts: string[]): string {
  return path.join(state.stateDir(), "workspaces", id, ...parts);
}

function recordOf(id: string): {
  state: string;
  reset_count: number;
  runtime: { pid: number } | null;
  last_error: string | null;
} {
  return JSON.parse(fs.readFileSync(workspaceFile(id, "workspace.json"), "utf8")) as ReturnType<
    typeof recordOf
  >;
}

async function seededWorkspace(content = "seed\n") {
  const manager = state.manager();
  const seed = writeTree(path.join(state.base(), "seed"), { "note.txt": content });
  const { workspace_id } = await manager.createWorkspace({
    allow_host_compat: true,
    seed_path: seed,
  });
  return { manager, workspace_id };
}

describe("snapshots and reset", () => {
  it("snapshots, resets to a snapshot and to the baseline, keeping identity and diff base", async () => {
    const { manager, workspace_id } = await seededWorkspace();
    await manager.execWorkspace(workspace_id, { command: "printf 'checkpoint\\n' > note.txt" });
    const created = await manager.createSnapshot(workspace_id, "checkpoint");
    expect(created.snapshot.snapshot_name).toBe("checkpoint");
    const listed = await manager.listSnapshots(workspace_id);
    expect(listed.count).toBe(2);
    expect(listed.snapshots.map((snapshot) => snapshot.snapshot_name)).toEqual([
      "baseline",
      "checkpoint",
    ]);

    await manager.execWorkspace(workspace_id, {
      command: "printf 'after\\n' > note.txt; touch stray.txt",
    });
    const oldPid = recordOf(workspace_id).runtime?.pid ?? 0;
    const toSnapshot = await manager.resetWorkspace(workspace_id, { snapshot: "checkpoint" });
    expect(toSnapshot.workspace_id).toBe(workspace_id);
    expect(toSnapshot.workspace_reset?.snapshot_name).toBe("checkpoint");
    expect(toSnapshot.reset_count).toBe(1);
    expect(toSnapshot.last_command).toBeNull();
    expect(toSnapshot.command_count).toBe(0);
    expect(toSnapshot.service_count).toBe(0);
    expect(toSnapshot.running_service_count).toBe(0);
    expect(processIsAlive(oldPid)).toBe(false);
    expect(recordOf(workspace_id).runtime?.pid).not.toBe(oldPid);

    const atCheckpoint = await manager.execWorkspace(workspace_id, { command: "cat note.txt; ls" });
    expect(atCheckpoint.stdout).toBe("checkpoint\nnote.txt\n");
    expect((await manager.logsWorkspace(workspace_id)).count).toBe(1);

    const toBaseline = await manager.resetWorkspace(workspace_id);
    expect(toBaseline.workspace_reset?.snapshot_name).toBe("baseline");
    expect(toBaseline.reset_count).toBe(2);
    expect(toBaseline.command_count).toBe(0);
    expect((await manager.logsWorkspace(workspace_id)).count).toBe(0);
    expect((await manager.execWorkspace(workspace_id, { command: "cat note.txt" })).stdout).toBe(
      "seed\n",
    );
    expect((await manager.diffWorkspace(workspace_id)).changed).toBe(false);

    const deleted = await manager.deleteSnapshot(workspace_id, "checkpoint");
    expect(deleted.deleted).toBe(true);
    expect(
      (await manager.listSnapshots(workspace_id)).snapshots.map(
        (snapshot) => snapshot.snapshot_name,
      ),
    ).toEqual(["baseline"]);
  });

  it("requires a baseline for every snapshot operation and for reset", async () => {
    const { manager, workspace_id } = await seededWorkspace();
    fs.unlinkSync(workspaceFile(workspace_id, "baseline", "workspace.tar"));
    const pattern = /requires? a baseline snapshot/;
    await expect(manager.listSnapshots(workspace_id)).rejects.toThrow(pattern);
    await expect(manager.createSnapshot(workspace_id, "checkpoint")).rejects.toThrow(pattern);
    await expect(manager.deleteSnapshot(workspace_id, "checkpoint")).rejects.toThrow(pattern);
    await expect(manager.resetWorkspace(workspace_id)).rejects.toThrow(pattern);
    // Nothing was destroyed on the way to those errors.
    expect(recordOf(workspace_id).state).toBe("started");
  });

  it("refuses to delete the baseline, to reuse a name, and bad names", async () => {
    const { manager, workspace_id } = await seededWorkspace();
    await expect(manager.deleteSnapshot(workspace_id, "baseline")).rejects.toThrow(
      "cannot delete the baseline snapshot",
    );
    await expect(manager.createSnapshot(workspace_id, "baseline")).rejects.toThrow("reserved");
    await manager.createSnapshot(workspace_id, "one");
    await expect(manager.createSnapshot(workspace_id, "one")).rejects.toThrow("already exists");
    await expect(manager.createSnapshot(workspace_id, "bad name")).rejects.toThrow(
      "snapshot_name must match",
    );
    await expect(manager.createSnapshot(workspace_id, "../x")).rejects.toThrow(
      "snapshot_name must match",
    );
    await expect(manager.deleteSnapshot(workspace_id, "nope")).rejects.toThrow("does not exist");
    await expect(manager.resetWorkspace(workspace_id, { snapshot: "nope" })).rejects.toThrow(
      "does not exist",
    );
  });

  it("recreates a stopped workspace", async () => {
    const { manager, workspace_id } = await seededWorkspace();
    const pid = recordOf(workspace_id).runtime?.pid ?? 0;
    process.kill(-pid, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await manager.statusWorkspace(workspace_id)).state).toBe("stopped");
    const reset = await manager.resetWorkspace(workspace_id);
    expect(reset.state).toBe("started");
    expect(reset.workspace_reset?.snapshot_name).toBe("baseline");
    expect(reset.last_error).toBeNull();
    expect((await manager.execWorkspace(workspace_id, { command: "cat note.txt" })).stdout).toBe(
      "seed\n",
    );
  });

  it("leaves the workspace stopped with snapshots intact when the new sandbox fails mid-reset", async () => {
    const { manager, workspace_id } = await seededWorkspace();
    await manager.createSnapshot(workspace_id, "checkpoint");
    const oldPid = recordOf(workspace_id).runtime?.pid ?? 0;
    await withEnv({ PYRO_AGENT_FAILPOINTS: "archive.import" }, async () => {
      await expect(
        manager.resetWorkspace(workspace_id, { snapshot: "checkpoint" }),
      ).rejects.toThrow("injected failure");
    });
    const record = recordOf(workspace_id);
    expect(record.state).toBe("stopped");
    expect(record.runtime).toBeNull();
    expect(record.reset_count).toBe(0);
    expect(record.last_error).toContain("reset to snapshot 'checkpoint' failed");
    expect(processIsAlive(oldPid)).toBe(false);
    expect(
      (await manager.listSnapshots(workspace_id)).snapshots.map(
        (snapshot) => snapshot.snapshot_name,
      ),
    ).toEqual(["baseline", "checkpoint"]);
    // A later reset repairs it.
    const repaired = await manager.resetWorkspace(workspace_id, { snapshot: "checkpoint" });
    expect(repaired.state).toBe("started");
    expect(repaired.reset_count).toBe(1);
    expect((await manager.execWorkspace(workspace_id, { command: "cat note.txt" })).stdout).toBe(
      "seed\n",
    );
  });

  it("refuses a damaged snapshot before touching the running sandbox", async () => {
    const { manager, workspace_id } = await seededWorkspace();
    await manager.createSnapshot(workspace_id, "checkpoint");
    await manager.execWorkspace(workspace_id, { command: "printf 'work\\n' > work.txt" });
    fs.writeFileSync(
      workspaceFile(workspace_id, "snapshots", "checkpoint.tar"),
      "this is not a tar archive",
    );
    await expect(manager.resetWorkspace(workspace_id, { snapshot: "checkpoint" })).rejects.toThrow(
      "damaged",
    );
    expect(recordOf(workspace_id).state).toBe("started");
    expect((await manager.execWorkspace(workspace_id, { command: "cat work.txt" })).stdout).toBe(
      "work\n",
    );
  });
});
