import { WorkspaceRecordSchema, readRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { listIds } from "./records-io.js";
import { reapExpiredVms, reapOrphan } from "./vms.js";
import { deleteWorkspace } from "./workspace-ops.js";

/**
 * Deletes expired workspaces and removes workspace directories whose record is missing,
 * corrupt or foreign. A listing never crashes on a bad record: it cleans it up.
 */
export async function reapExpiredWorkspaces(
  context: ManagerContext,
  now = nowSeconds(),
): Promise<string[]> {
  const reaped: string[] = [];
  for (const id of await listIds(context.layout.workspacesDir)) {
    const record = await readRecord(
      context.layout.workspaceRecord(id),
      WorkspaceRecordSchema,
    ).catch(() => "corrupt" as const);
    if (record === "corrupt" || record === null) {
      await reapOrphan(
        context,
        context.layout.lockFile("workspace", id),
        context.layout.workspaceDir(id),
        reaped,
        id,
      );
      continue;
    }
    if (record.expires_at <= now) {
      await deleteWorkspace(context, id).then(
        () => reaped.push(id),
        () => undefined,
      );
    }
  }
  return reaped;
}

export async function reapExpired(
  context: ManagerContext,
): Promise<{ count: number; vm_ids: string[]; workspace_ids: string[] }> {
  const vmIds = await reapExpiredVms(context);
  const workspaceIds = await reapExpiredWorkspaces(context);
  return { count: vmIds.length + workspaceIds.length, vm_ids: vmIds, workspace_ids: workspaceIds };
}
