import fs from "node:fs";

/**
 * A workspace's activity file (`<workspace dir>/activity.json`): its content is the expiry
 * policy, its mtime the workspace's last activity. Touching it is one utimes(2) with no
 * lock, so every operation can afford it; the manager, the reaper and the sandbox's own
 * self-stop timer (host agent, qemu supervisor) all read the same file, so an update to the
 * policy (workspace_update) reaches a running sandbox without a reboot.
 */
export interface ExpiryPolicy {
  /** Idle timeout: the workspace expires this long after its last activity. */
  ttl_seconds: number;
  /** Hard expiry (epoch seconds), whatever the activity; null for none. */
  hard_expires_at: number | null;
}

export interface ActivityState extends ExpiryPolicy {
  last_activity_at: number;
  /** last_activity_at + ttl_seconds. */
  idle_expires_at: number;
  /** The earlier of idle_expires_at and hard_expires_at. */
  expires_at: number;
}

export function expiryFrom(policy: ExpiryPolicy, lastActivityAt: number): ActivityState {
  const idle = lastActivityAt + policy.ttl_seconds;
  const hard = policy.hard_expires_at;
  return {
    ...policy,
    last_activity_at: lastActivityAt,
    idle_expires_at: idle,
    expires_at: hard === null ? idle : Math.min(idle, hard),
  };
}

function isPolicy(value: unknown): value is ExpiryPolicy {
  if (typeof value !== "object" || value === null) return false;
  const { ttl_seconds: ttl, hard_expires_at: hard } = value as Record<string, unknown>;
  return (
    typeof ttl === "number" &&
    Number.isFinite(ttl) &&
    (hard === null || (typeof hard === "number" && Number.isFinite(hard)))
  );
}

/** The file's policy and activity; null when it is missing or unreadable. */
export function readActivityFile(file: string): ActivityState | null {
  try {
    const stat = fs.statSync(file);
    const policy: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    if (!isPolicy(policy)) return null;
    return expiryFrom(policy, stat.mtimeMs / 1000);
  } catch {
    return null;
  }
}

/** Records activity now. False when the file is gone (a deleted workspace). */
export function touchActivityFile(file: string): boolean {
  const now = new Date();
  try {
    fs.utimesSync(file, now, now);
    return true;
  } catch {
    return false;
  }
}
