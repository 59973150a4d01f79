import type { WorkspaceRecord } from "../store/records.js";
import { clearCommands } from "./command-log.js";
import { claimActiveSlot } from "./active-slots.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { reportProgress, type ProgressOptions } from "./progress.js";
import { loadWorkspace, saveWorkspace, withWorkspaceLock } from "./records-io.js";
import { bootSandbox, destroyRuntime } from "./sandbox.js";
import { redactorFor } from "./secrets.js";
import { BASELINE, snapshotArchiveFor } from "./snapshots.js";
import { importArchive } from "./archive-import.js";
import { reconcileWorkspaceVolume, requireVolumePoint, usesVolume } from "./volume-snapshots.js";
import { requireBaseline } from "./workspace-ops.js";

/**
 * Reset-over-repair: throw the sandbox away, boot a fresh one and restore /workspace from
 * a snapshot. The workspace id, baseline and snapshots stay; history, shells and services
 * go. The record is saved as `stopped` before the new boot, so a failure at any later
 * step leaves a stopped workspace with its reset_count and snapshots untouched, which a
 * later reset can repair.
 */
export async function resetWorkspace(
  context: ManagerContext,
  id: string,
  input: { snapshot?: string },
  options?: ProgressOptions,
): Promise<WorkspaceRecord> {
  const snapshotName = input.snapshot ?? BASELINE;
  const loaded = await loadWorkspace(context.layout, id);
  return withWorkspaceLock(context.layout, loaded.workspace_id, async () => {
    const record = await loadWorkspace(context.layout, loaded.workspace_id);
    // A volume's point is checked here, its leftovers of a killed operation removed.
    const volume = usesVolume(record);
    if (volume) {
      await requireBaseline(context, record, "workspace_reset");
      await requireVolumePoint(context, record, snapshotName);
      await reconcileWorkspaceVolume(context, record);
    }
    const archive = volume ? null : await snapshotArchiveFor(context, record, snapshotName);

    // `resetting` while we hold the lock; if this process dies, status sees the lock's
    // holder gone and reports the workspace stopped (refreshWorkspace).
    const claim = async (): Promise<void> => {
      record.state = "resetting";
      await saveWorkspace(context.layout, record);
    };
    // A stopped workspace holds no slot of the max-active limit; booting it takes one.
    if (record.state === "stopped") await claimActiveSlot(context, claim);
    else await claim();
    await context.beforeDestroy(record);
    await destroyRuntime(context, record);
    await saveWorkspace(context.layout, record);

    try {
      reportProgress(options, "booting sandbox", 0, 2);
      // A volume boots on a new empty top over the snapshot's point: no per-file work.
      record.runtime = await bootSandbox(context, record, volume ? { resetTo: snapshotName } : {});
      if (archive !== null) {
        reportProgress(options, `restoring /workspace from snapshot '${snapshotName}'`, 1, 2);
        // snapshotArchiveFor validated the archive in full above.
        // The snapshot's root member restores /workspace's own mode and mtime too.
        await importArchive(context, record, archive, "/workspace", {
          fresh: true,
          restoreRoot: true,
        });
      }
    } catch (error) {
      await destroyRuntime(context, record).catch(() => undefined);
      record.state = "stopped";
      // Stored in the record: no secret value may be in it (docs/secrets.md).
      const redactor = await redactorFor(context, record.workspace_id).catch(() => null);
      const message = `reset to snapshot '${snapshotName}' failed: ${(error as Error).message}`;
      record.last_error = redactor ? redactor.redact(message) : message;
      await saveWorkspace(context.layout, record);
      throw error;
    }

    await clearCommands(context.layout.commandLog(record.workspace_id));
    record.state = "started";
    record.last_error = null;
    record.command_count = 0;
    record.last_command = null;
    record.reset_count += 1;
    record.workspace_reset = { snapshot_name: snapshotName, reset_at: nowSeconds() };
    await saveWorkspace(context.layout, record);
    return record;
  });
}
