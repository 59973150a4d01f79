import path from "node:path";

import { writeJsonAtomic } from "../store/atomic.js";
import type { StateLayout } from "../store/layout.js";
import { WorkspaceRecordSchema, readRecord, type WorkspaceRecord } from "../store/records.js";
import {
  expiryFrom,
  readActivityFile,
  touchActivityFile,
  type ActivityState,
  type ExpiryPolicy,
} from "../shared/activity-file.js";
import { sandboxBusy } from "../protocol/idle-expiry.js";
import { checkIntRange } from "../shared/limits.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";

/**
 * Expiry that follows use: a workspace's ttl_seconds is an idle timeout measured from its
 * last activity (the activity file's mtime, src/shared/activity-file.ts), bounded by an
 * optional hard expiry. Every operation naming the workspace touches the file (at the
 * operations edge, src/operations/index.ts); a running command, open shell or running
 * service counts as activity when the deadline comes (isExpired here, and the sandbox's
 * own self-stop timer).
 */
export function activityFile(layout: StateLayout, id: string): string {
  return path.join(layout.workspaceDir(id), "activity.json");
}

function expiryPolicy(record: WorkspaceRecord): ExpiryPolicy {
  return { ttl_seconds: record.ttl_seconds, hard_expires_at: record.hard_expires_at ?? null };
}

/** Writes the policy (after create or workspace_update); counts as activity. */
export function writeActivity(layout: StateLayout, record: WorkspaceRecord): Promise<void> {
  return writeJsonAtomic(activityFile(layout, record.workspace_id), expiryPolicy(record));
}

/** Records activity now (cheap: one utimes, no lock); a missing file is left missing. */
export function touchActivity(layout: StateLayout, id: string): void {
  // Only an id's shape reaches the filesystem (ids come from callers at the edge).
  if (ID_SHAPE.test(id)) touchActivityFile(activityFile(layout, id));
}

const ID_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * The workspace's expiry as of now. The record's policy wins over the file's (the record
 * is the truth; the file mirrors it for the sandbox). Without a file (an older pyro made
 * the workspace) the last activity is its creation, or its last reset.
 */
export function expiryState(layout: StateLayout, record: WorkspaceRecord): ActivityState {
  const file = readActivityFile(activityFile(layout, record.workspace_id));
  const fallback = Math.max(record.created_at, record.workspace_reset?.reset_at ?? 0);
  return expiryFrom(expiryPolicy(record), file?.last_activity_at ?? fallback);
}

/**
 * The record behind `id` and whether it is past its deadline (before any busy check),
 * or null when there is none. Cheap: one record read and one stat.
 */
export async function dueState(
  context: ManagerContext,
  id: string,
): Promise<{ record: WorkspaceRecord; due: boolean } | null> {
  if (!ID_SHAPE.test(id)) return null;
  const record = await readRecord(context.layout.workspaceRecord(id), WorkspaceRecordSchema).catch(
    () => null,
  );
  if (!record) return null;
  return { record, due: expiryState(context.layout, record).expires_at <= nowSeconds() };
}

/** The expiry fields every workspace result shows. */
export function expiryPayload(layout: StateLayout, record: WorkspaceRecord, now = nowSeconds()) {
  const state = expiryState(layout, record);
  return {
    last_activity_at: state.last_activity_at,
    idle_expires_at: state.idle_expires_at,
    hard_expires_at: state.hard_expires_at,
    expires_at: state.expires_at,
    expires_in_seconds: Math.max(0, Math.round(state.expires_at - now)),
  };
}

/**
 * True when the workspace is past its deadline and nothing runs in it: past the hard
 * expiry it is expired whatever runs; past the idle deadline, a running command, open
 * shell or running service makes it active (the file is touched for it) instead.
 */
export async function isExpired(
  context: ManagerContext,
  record: WorkspaceRecord,
  now = nowSeconds(),
): Promise<boolean> {
  const state = expiryState(context.layout, record);
  if (state.hard_expires_at !== null && state.hard_expires_at <= now) return true;
  if (state.expires_at > now) return false;
  const runtime = record.runtime;
  const backend = context.backends.get(record.backend);
  if (
    runtime !== null &&
    backend.isAlive(runtime) &&
    // A suspended guest was idle when saved; asking it would resume it.
    !backend.isSuspended(runtime) &&
    (await sandboxBusy(runtime.socket_path))
  ) {
    touchActivity(context.layout, record.workspace_id);
    return false;
  }
  return true;
}

/** The hard expiry's range: max_lifetime_seconds counts from the workspace's creation. */
const MAX_LIFETIME = { min: 60, max: 30 * 86400 };

export function hardExpiryFor(createdAt: number, maxLifetime: number | null | undefined) {
  if (maxLifetime === undefined || maxLifetime === null) return null;
  checkIntRange("max_lifetime_seconds", maxLifetime, MAX_LIFETIME.min, MAX_LIFETIME.max);
  return createdAt + maxLifetime;
}
