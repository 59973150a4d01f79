import { BACKEND_NAMES } from "../backends/types.js";
import type { LazySchema } from "../shared/fast-check.js";
import { tryLock } from "../store/lock.js";
import { readRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { listIds } from "./records-io.js";
import { removeTree } from "./sandbox.js";

/** How the reaper finds, reads and deletes one kind of sandbox. */
export interface ReapableKind<R extends { expires_at: number } = { expires_at: number }> {
  kind: "vm" | "workspace";
  dir: (context: ManagerContext) => string;
  recordFile: (context: ManagerContext, id: string) => string;
  sandboxDir: (context: ManagerContext, id: string) => string;
  schema: LazySchema<R>;
  remove: (context: ManagerContext, id: string) => Promise<unknown>;
  /** When expiry is more than `expires_at` (a workspace's idle timeout); default expires_at <= now. */
  isExpired?: (context: ManagerContext, record: R, now: number) => Promise<boolean>;
}

/**
 * Deletes the expired sandboxes of one kind, and removes directories whose record is missing,
 * corrupt or foreign. A listing never crashes on a bad record: it cleans it up.
 */
export async function reapExpiredOfKind<R extends { expires_at: number }>(
  context: ManagerContext,
  what: ReapableKind<R>,
  now: number,
): Promise<string[]> {
  const reaped: string[] = [];
  for (const id of await listIds(what.dir(context))) {
    const record = await readRecord(what.recordFile(context, id), what.schema).catch(
      () => "corrupt" as const,
    );
    if (record === "corrupt" || record === null) {
      const lock = context.layout.lockFile(what.kind, id);
      if (await reapOrphan(context, lock, what.sandboxDir(context, id))) reaped.push(id);
      continue;
    }
    const expired = what.isExpired
      ? await what.isExpired(context, record, now).catch(() => false)
      : record.expires_at <= now;
    if (expired) {
      await what.remove(context, id).then(
        () => reaped.push(id),
        () => undefined,
      );
    }
  }
  return reaped;
}

/**
 * Removes a directory with no valid record, but only if nobody holds its lock: a create in
 * progress holds the lock and has not written its record yet. True when it was removed.
 */
async function reapOrphan(
  context: ManagerContext,
  lockPath: string,
  dir: string,
): Promise<boolean> {
  const release = await tryLock(lockPath);
  if (!release) return false;
  try {
    // Without a record we do not know the backend: every one looks for what it left.
    for (const name of BACKEND_NAMES) {
      await context.backends
        .get(name)
        .sweepOrphan(dir)
        .catch(() => undefined);
    }
    await removeTree(dir);
    return true;
  } finally {
    await release().catch(() => undefined);
  }
}
