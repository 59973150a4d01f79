/**
 * Process ownership for shells and services.
 *
 * A shell's terminal and a service are each a session (setsid), and every process they
 * start inherits PYRO_OWNER=<token> in its environment. Teardown kills both: the session
 * reaches jobs that moved to their own process group (bash job control does that for every
 * pipeline), the marker reaches daemons that called setsid themselves. So nothing a shell
 * or service started outlives its close or stop, short of clearing its own environment.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";

import { readProcStat, sleep } from "./process-group.js";

export const OWNER_ENV = "PYRO_OWNER";
/**
 * Every shell and service process also carries PYRO_SANDBOX=<agent state dir>, which is
 * unique per sandbox on one host: the host backend uses it to sweep what a dead agent left.
 */
export const SANDBOX_ENV = "PYRO_SANDBOX";

/**
 * Who owns a set of processes: a session id (<= 1 for none) and/or an environment entry
 * `NAME=value` that they inherited.
 */
export interface Owner {
  sid: number;
  marker: string | null;
}

/** The environment additions that mark a process as started by this shell or service. */
export function ownerEnv(stateDir: string, token: string): Record<string, string> {
  return { [OWNER_ENV]: token, [SANDBOX_ENV]: stateDir };
}

export function ownerMarker(token: string): string {
  return `${OWNER_ENV}=${token}`;
}

export function sandboxMarker(stateDir: string): string {
  return `${SANDBOX_ENV}=${stateDir}`;
}

interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
}

export function newOwnerToken(): string {
  return randomBytes(8).toString("hex");
}

export function listProcesses(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readEntry(Number(name));
    if (entry) entries.push(entry);
  }
  return entries;
}

function readEntry(pid: number): ProcEntry | null {
  const stat = readProcStat(pid); // null: exited while we looked
  return stat && { pid, state: stat.state, ppid: stat.ppid, pgid: stat.pgid, sid: stat.sid };
}

function carriesMarker(pid: number, needle: Buffer): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`).includes(needle);
  } catch {
    return false; // gone, or not ours to read
  }
}

/** Live (non-zombie) processes of `owner`. Zombies are harmless and may never be reaped. */
export function ownedProcesses(owner: Owner | number): ProcEntry[] {
  const { sid, marker } = typeof owner === "number" ? { sid: owner, marker: null } : owner;
  // environ is NUL-separated; the trailing NUL stops `A=1` from matching `A=10`.
  const needle = marker ? Buffer.from(`${marker}\0`) : null;
  return listProcesses().filter(
    (entry) =>
      entry.state !== "Z" &&
      entry.pid !== process.pid &&
      // sid 0 is the kernel's threads, 1 is init's session: never ours to sweep.
      ((sid > 1 && entry.sid === sid) || (needle !== null && carriesMarker(entry.pid, needle))),
  );
}

/**
 * Sends `first` to every process group of `owner`'s processes, waits up to `graceMs` for
 * them to go, then SIGKILLs whatever is left (looking again, for anything forked
 * meanwhile). `signalled` is false when nothing was running; `killed` says SIGKILL was needed.
 */
export async function killOwned(
  owner: Owner | number,
  first: NodeJS.Signals,
  graceMs: number,
): Promise<{ signalled: boolean; killed: boolean }> {
  const members = ownedProcesses(owner);
  if (members.length === 0) return { signalled: false, killed: false };
  signalAll(members, first);
  const watched = members.map((entry) => entry.pid);
  const deadline = Date.now() + graceMs;
  // Poll only the pids we signalled: re-reading every environ on the host is not free.
  while (Date.now() < deadline) {
    if (watched.every((pid) => (readEntry(pid)?.state ?? "Z") === "Z")) break;
    await sleep(20);
  }
  const left = ownedProcesses(owner);
  if (left.length === 0) return { signalled: true, killed: false };
  signalAll(left, "SIGKILL");
  const settle = Date.now() + 1_000;
  while (ownedProcesses(owner).length > 0 && Date.now() < settle) await sleep(20);
  return { signalled: true, killed: true };
}

/**
 * Signals every process group led by one of `members` (so a group's not-yet-seen children
 * get it too), then each member itself: a member may sit in a group it does not lead
 * (the shell's `script` relay shares the agent's group, which must never be signalled).
 */
function signalAll(members: ProcEntry[], signal: NodeJS.Signals): void {
  const leaders = new Set(
    members.filter((entry) => entry.pid === entry.pgid).map((entry) => entry.pgid),
  );
  for (const pgid of leaders) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // already gone
    }
  }
  for (const entry of members) {
    try {
      process.kill(entry.pid, signal);
    } catch {
      // already gone
    }
  }
}
