import { WorkspaceRecordSchema, type WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { reapExpiredOfKind, type ReapableKind } from "./reap-loop.js";
import { reapExpiredVms } from "./vms.js";
import { isExpired } from "./workspace-expiry.js";
import { deleteWorkspace } from "./workspace-ops.js";

/** Deletes expired workspaces and workspace directories whose record is missing or corrupt. */
export function reapExpiredWorkspaces(
  context: ManagerContext,
  now = nowSeconds(),
): Promise<string[]> {
  return reapExpiredOfKind(context, WORKSPACE_KIND, now);
}

const WORKSPACE_KIND: ReapableKind<WorkspaceRecord> = {
  kind: "workspace",
  dir: (context) => context.layout.workspacesDir,
  recordFile: (context, id) => context.layout.workspaceRecord(id),
  sandboxDir: (context, id) => context.layout.workspaceDir(id),
  schema: WorkspaceRecordSchema,
  remove: deleteWorkspace,
  // Idle past ttl_seconds with nothing running, or past the hard expiry.
  isExpired,
};

export async function reapExpired(
  context: ManagerContext,
): Promise<{ count: number; vm_ids: string[]; workspace_ids: string[] }> {
  const vmIds = await reapExpiredVms(context);
  const workspaceIds = await reapExpiredWorkspaces(context);
  return { count: vmIds.length + workspaceIds.length, vm_ids: vmIds, workspace_ids: workspaceIds };
}
