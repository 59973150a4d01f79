import fs from "node:fs/promises";
import path from "node:path";

import lockfile from "proper-lockfile";

import { PyroError } from "../errors.js";

/** A lock older than this without a heartbeat belongs to a dead process and may be taken. */
const STALE_MS = 20_000;
const HEARTBEAT_MS = 5_000;

/**
 * Runs `fn` while holding an inter-process lock (proper-lockfile: an atomic mkdir plus an
 * mtime heartbeat, so a crashed holder's lock goes stale instead of wedging everyone).
 * Reads never take the lock: records are replaced atomically, so a reader sees a whole one.
 */
export async function withLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: { waitMs?: number } = {},
): Promise<T> {
  const release = await acquire(lockPath, options.waitMs ?? 60_000);
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Takes the lock only if it is free right now; returns null when someone holds it. */
export async function tryLock(lockPath: string): Promise<(() => Promise<void>) | null> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  try {
    return await lockfile.lock(lockPath, { ...baseOptions(lockPath), retries: 0 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOCKED") return null;
    throw error;
  }
}

async function acquire(lockPath: string, waitMs: number): Promise<() => Promise<void>> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await lockfile.lock(lockPath, {
        ...baseOptions(lockPath),
        retries: { retries: 20, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
      if (Date.now() > deadline) {
        throw new PyroError(
          "invalid_state",
          `timed out after ${waitMs} ms waiting for lock ${path.basename(lockPath)}; another pyro process is busy with it`,
        );
      }
    }
  }
}

function baseOptions(lockPath: string): lockfile.LockOptions {
  return {
    realpath: false,
    lockfilePath: lockPath,
    stale: STALE_MS,
    update: HEARTBEAT_MS,
    // The default throws from a timer and would crash the process; a lost heartbeat only
    // means another process may have taken over, which the next atomic write tolerates.
    onCompromised: (error) => {
      process.emitWarning(`pyro lock compromised: ${error.message}`);
    },
  };
}
