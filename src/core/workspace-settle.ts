import { lockHolderAlive } from "../store/lock.js";
import type { WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { updateWorkspace } from "./records-io.js";
import { haltRuntime } from "./sandbox.js";

/**
 * A `stopping`/`starting` record is true while a live process holds the lock. Once that
 * holder is gone (kill -9), the sandbox is halted (its disk kept) and the workspace is
 * stopped, with last_error naming the next step.
 */
export async function settleLifecycle(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<WorkspaceRecord> {
  const lockPath = context.layout.lockFile("workspace", record.workspace_id);
  if ((await lockHolderAlive(lockPath)) === true) return record;
  const { record: updated } = await updateWorkspace(
    context.layout,
    record.workspace_id,
    async (current) => {
      if (current.state !== "stopping" && current.state !== "starting") return;
      const was = current.state === "stopping" ? "a stop" : "a start";
      await haltRuntime(context, current);
      current.state = "stopped";
      current.stopped_at = nowSeconds();
      current.last_error = `${was} was interrupted before it finished (the process running it ended); start the workspace (workspace_start) or reset it`;
    },
  );
  return updated;
}
