import { readFileSync } from "node:fs";

/** Signals a whole process group; a group that is already gone is not an error. */
export function killProcessGroup(pid: number | undefined | null, signal: NodeJS.Signals): boolean {
  if (pid === undefined || pid === null || pid <= 0) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` names a live process; zombies count as dead. */
export function processIsAlive(pid: number | null | undefined): boolean {
  if (pid === null || pid === undefined || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM means it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return readProcStat(pid)?.state !== "Z";
}

/**
 * True when `pid` is alive and is still the process that was recorded with `startTicks`
 * (its /proc start time): a pid recycled by another process does not count. With no
 * recorded start time, a live pid is taken at its word.
 */
export function isSameProcess(pid: number, startTicks: number | null): boolean {
  if (!processIsAlive(pid)) return false;
  if (startTicks === null) return true;
  return readProcStat(pid)?.startTicks === startTicks;
}

/** Polls until `pid` is gone or `timeoutMs` passed. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processIsAlive(pid) && Date.now() < deadline) await sleep(20);
}

interface ProcStat {
  state: string;
  ppid: number;
  pgid: number;
  /** Session id. */
  sid: number;
  /** Foreground process group of the controlling terminal (-1 without one). */
  tpgid: number;
  /** Start time in clock ticks since boot: with the pid, identifies one process. */
  startTicks: number;
}

export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name is in parentheses and may contain spaces: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    state: fields[0] ?? "?",
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    sid: Number(fields[3]),
    tpgid: Number(fields[5]),
    startTicks: Number(fields[19]),
  };
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** The number of a signal, for the shell convention exit code 128 + n. */
export function signalNumber(signal: NodeJS.Signals): number {
  return SIGNAL_NUMBERS[signal] ?? 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
