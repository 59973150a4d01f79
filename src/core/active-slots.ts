import { PyroError } from "../errors.js";
import { lockHolderAlive, withLock } from "../store/lock.js";
import { VmRecordSchema, WorkspaceRecordSchema, readRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { listIds } from "./records-io.js";
import { expiryState } from "./workspace-expiry.js";

/**
 * The max-active limit counts every sandbox that holds (or is about to hold) a VM: VMs
 * that are not stopped, and workspaces that are started or resetting, or being created
 * (a directory without a record yet whose lock a live process holds). Expired ones do not
 * count: they have stopped themselves.
 */
async function activeSandboxCount(context: ManagerContext): Promise<number> {
  const now = nowSeconds();
  let count = 0;
  for (const id of await listIds(context.layout.vmsDir)) {
    const record = await readRecord(context.layout.vmRecord(id), VmRecordSchema).catch(() => null);
    if (record && record.state !== "stopped" && record.expires_at > now) count += 1;
  }
  for (const id of await listIds(context.layout.workspacesDir)) {
    const record = await readRecord(
      context.layout.workspaceRecord(id),
      WorkspaceRecordSchema,
    ).catch(() => "corrupt" as const);
    if (record === "corrupt") continue;
    if (record === null) {
      if ((await lockHolderAlive(context.layout.lockFile("workspace", id))) === true) count += 1;
      continue;
    }
    if (record.state === "stopped") continue;
    // A workspace past its idle deadline still holds its VM while something runs in it.
    const live =
      record.runtime !== null && context.backends.get(record.backend).isAlive(record.runtime);
    if (live || expiryState(context.layout, record).expires_at > now) count += 1;
  }
  return count;
}

/**
 * Runs `claim` (which must make the new sandbox count: write its record, or its directory
 * under its held lock) only if a slot is free. Counting and claiming happen under one lock,
 * so two processes cannot both take the last slot.
 */
export async function claimActiveSlot<T>(
  context: ManagerContext,
  claim: () => Promise<T>,
): Promise<T> {
  return withLock(context.layout.lockFile("vms", "active"), async () => {
    const active = await activeSandboxCount(context);
    if (active >= context.maxActiveVms) {
      throw new PyroError(
        "limit_exceeded",
        `max active VMs reached (${context.maxActiveVms}, counting one-shot VMs and workspaces); delete or stop one first`,
        { limit: "max_active_vms", max_active_vms: context.maxActiveVms, active },
      );
    }
    return claim();
  });
}
