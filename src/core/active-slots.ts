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
  return claimActiveSlots(context, 1, claim);
}

/**
 * claimActiveSlot for `count` sandboxes at once (workspace_fork): all of them or none, so
 * a fork of N never makes some of its workspaces and then finds the limit.
 */
export async function claimActiveSlots<T>(
  context: ManagerContext,
  count: number,
  claim: () => Promise<T>,
): Promise<T> {
  return withLock(context.layout.lockFile("vms", "active"), async () => {
    const active = await activeSandboxCount(context);
    if (active + count > context.maxActiveVms) {
      const max = context.maxActiveVms;
      const free = Math.max(0, max - active);
      throw new PyroError(
        "limit_exceeded",
        count === 1
          ? `max active VMs reached (${max}, counting one-shot VMs and workspaces); delete or stop one first`
          : `max active VMs (${max}, counting one-shot VMs and workspaces) leaves ${free} free, and ${count} are needed; delete or stop ${count - free} first, or ask for fewer`,
        {
          limit: "max_active_vms",
          max_active_vms: max,
          active,
          ...(count === 1 ? {} : { requested: count }),
        },
      );
    }
    return claim();
  });
}
