import { randomBytes } from "node:crypto";
import { readlinkSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

import { isSameProcess, readProcStat, sleep } from "../process/process-group.js";
import { PyroError } from "../errors.js";

/**
 * Inter-process locks: a lock is a directory `<lockPath>` holding `owner.json` (the
 * holder's pid, its /proc start time, its pid namespace and a token). It is created whole
 * (a temp directory renamed into place), so a lock never exists without its owner.
 *
 * A waiter takes over a lock at once when its holder is gone (pid dead, or recycled by
 * another process): a kill -9 never blocks the next operation. Only when the owner cannot
 * be judged (no readable owner file, or a holder in another pid namespace) does the lock
 * fall back to the heartbeat: the holder touches the directory every HEARTBEAT_MS, and a
 * lock untouched for STALE_MS is taken over. A holder that is alive keeps its lock however
 * long it works. Locks live outside the directories they guard.
 *
 * Why not proper-lockfile (used before): it only knows the mtime heartbeat, so a lock whose
 * holder was killed blocked every caller for its whole stale period (20 s), and it has no
 * notion of an owner to ask about. Judging the holder by pid + start time is ours to do.
 */
const STALE_MS = 20_000;
const HEARTBEAT_MS = 5_000;
/** Breaking a stale lock takes milliseconds; a breaker that died is ignored after this. */
const BREAKER_STALE_MS = 5_000;
const OWNER_FILE = "owner.json";

interface LockOwner {
  pid: number;
  start_ticks: number | null;
  pid_ns: string | null;
  token: string;
}

function pidNamespace(): string | null {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return null;
  }
}

const OWN_PID_NS = pidNamespace();

/**
 * Runs `fn` while holding the lock at `lockPath`. Reads never take the lock: records are
 * replaced atomically, so a reader sees a whole one.
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

/** Takes the lock only if it is free (or its holder is dead) now; null when someone holds it. */
export async function tryLock(lockPath: string): Promise<(() => Promise<void>) | null> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  return attempt(lockPath);
}

/**
 * Whether a live process holds the lock: true/false, or null when nobody holds it.
 * `false` means a holder died with it (the next taker breaks it).
 */
export async function lockHolderAlive(lockPath: string): Promise<boolean | null> {
  const state = await inspect(lockPath);
  if (state.kind === "free") return null;
  return state.kind === "held";
}

async function acquire(lockPath: string, waitMs: number): Promise<() => Promise<void>> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + waitMs;
  let delay = 5;
  for (;;) {
    const release = await attempt(lockPath);
    if (release) return release;
    if (Date.now() > deadline) {
      throw new PyroError(
        "busy",
        `timed out after ${waitMs} ms waiting for lock ${path.basename(lockPath)}; another pyro process is busy with it`,
        { lock: path.basename(lockPath), wait_ms: waitMs },
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 1.5, 100);
  }
}

/** One try: take a free lock, or break a dead holder's lock and take it. */
async function attempt(lockPath: string): Promise<(() => Promise<void>) | null> {
  const owner = await create(lockPath);
  if (owner) return releaser(lockPath, owner);
  const state = await inspect(lockPath);
  if (state.kind === "held") return null;
  if (state.kind === "stale") await breakStale(lockPath, state.token);
  const retried = await create(lockPath);
  return retried ? releaser(lockPath, retried) : null;
}

/** Creates the lock with its owner file in one rename; null when it exists. */
async function create(lockPath: string): Promise<LockOwner | null> {
  const owner: LockOwner = {
    pid: process.pid,
    start_ticks: readProcStat(process.pid)?.startTicks ?? null,
    pid_ns: OWN_PID_NS,
    token: randomBytes(8).toString("hex"),
  };
  const temp = `${lockPath}.new-${owner.token}`;
  await fs.mkdir(temp, { mode: 0o700 });
  try {
    await fs.writeFile(path.join(temp, OWNER_FILE), JSON.stringify(owner));
    // rename(2) onto an existing, non-empty directory fails: the lock is taken. So does a
    // rename onto a file (ENOTDIR): a lock file an older pyro left (the transfer disk's
    // lock was one), which the heartbeat rule in inspect() judges by its age.
    await fs.rename(temp, lockPath);
    return owner;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") return null;
    throw error;
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
}

type LockState = { kind: "free" } | { kind: "held" } | { kind: "stale"; token: string | null };

async function inspect(lockPath: string): Promise<LockState> {
  const stat = await fs.stat(lockPath).catch(() => null);
  if (!stat) return { kind: "free" };
  const owner = await readOwner(lockPath);
  if (owner && owner.pid_ns !== null && owner.pid_ns === OWN_PID_NS) {
    return isSameProcess(owner.pid, owner.start_ticks)
      ? { kind: "held" }
      : { kind: "stale", token: owner.token };
  }
  // Cannot judge the holder (another pid namespace, or no owner file): heartbeat rules.
  return stat.mtimeMs < Date.now() - STALE_MS
    ? { kind: "stale", token: owner?.token ?? null }
    : { kind: "held" };
}

async function readOwner(lockPath: string): Promise<LockOwner | null> {
  try {
    const raw = JSON.parse(await fs.readFile(path.join(lockPath, OWNER_FILE), "utf8")) as unknown;
    if (typeof raw !== "object" || raw === null) return null;
    const owner = raw as Partial<LockOwner>;
    if (typeof owner.pid !== "number" || typeof owner.token !== "string") return null;
    return {
      pid: owner.pid,
      start_ticks: typeof owner.start_ticks === "number" ? owner.start_ticks : null,
      pid_ns: typeof owner.pid_ns === "string" ? owner.pid_ns : null,
      token: owner.token,
    };
  } catch {
    return null;
  }
}

/**
 * Removes a lock whose holder is gone. Breakers take turns (a `.break` directory), and each
 * checks again under it that the lock is still the dead one it saw: a lock that another
 * breaker already replaced with a live holder's is never removed.
 */
async function breakStale(lockPath: string, token: string | null): Promise<void> {
  const breaker = `${lockPath}.break`;
  try {
    await fs.mkdir(breaker);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const stat = await fs.stat(breaker).catch(() => null);
    if (stat && stat.mtimeMs < Date.now() - BREAKER_STALE_MS) {
      await fs.rm(breaker, { recursive: true, force: true });
    }
    return;
  }
  try {
    const state = await inspect(lockPath);
    if (state.kind !== "stale" || state.token !== token) return;
    const grave = `${lockPath}.dead-${randomBytes(6).toString("hex")}`;
    await fs.rename(lockPath, grave).catch(() => undefined);
    await fs.rm(grave, { recursive: true, force: true });
  } finally {
    await fs.rm(breaker, { recursive: true, force: true });
  }
}

function releaser(lockPath: string, owner: LockOwner): () => Promise<void> {
  // The heartbeat matters only to processes that cannot see our pid (another namespace).
  const heartbeat = setInterval(() => {
    const now = new Date();
    fs.utimes(lockPath, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    // Only our own lock: one broken as stale and retaken by another process is theirs.
    const current = await readOwner(lockPath);
    if (current?.token !== owner.token) return;
    const grave = `${lockPath}.dead-${owner.token}`;
    await fs.rename(lockPath, grave);
    await fs.rm(grave, { recursive: true, force: true });
  };
}
