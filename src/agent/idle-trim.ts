/**
 * Gives an idle guest's memory back to the host (real guests only; started by main.ts).
 *
 * Free page reporting (virtio-balloon, see docs/qemu-backend.md) returns only free blocks of
 * 256 KiB and more. After a build the guest's free memory is mostly scattered 4 KiB pages
 * (deleted files' page cache, a compiler's freed heap interleaved with live pages), and
 * its page cache still holds every file the build read: measured after a build-like run,
 * qemu kept 526 MiB of guest RAM while the guest used 270 MiB, and 190 MiB once the page
 * cache was dropped and memory compacted (the blocks then freed are reported at once).
 *
 * So once the guest has been idle for a while (its CPUs idle, not merely the agent), the
 * agent drops the clean page cache and compacts memory, once per idle period. The next
 * command re-reads what it needs from the disk (the host's page cache, at host speed).
 */
import fs from "node:fs";

/** Seconds of guest-wide CPU idleness before a trim. */
const IDLE_SECONDS = 10;
/** How often the CPU counters are sampled. */
const SAMPLE_MS = 2_000;
/** Busy share of the guest's CPU time (all CPUs) below which a sample counts as idle. */
const IDLE_BUSY_SHARE = 0.05;
/** Page cache below this is not worth dropping (what a fresh boot holds is about 50 MiB). */
const MIN_RECLAIMABLE_KIB = 64 * 1024;

interface CpuTimes {
  busy: number;
  total: number;
}

/** Aggregate CPU time from /proc/stat's first line (user nice system idle iowait ...). */
export function parseCpuTimes(stat: string): CpuTimes | null {
  const line = stat.split("\n", 1)[0] ?? "";
  if (!line.startsWith("cpu ")) return null;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 4 || fields.some((value) => !Number.isFinite(value))) return null;
  // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
  const counted = fields.slice(0, 8);
  const total = counted.reduce((sum, value) => sum + value, 0);
  const idle = (counted[3] ?? 0) + (counted[4] ?? 0);
  return { busy: total - idle, total };
}

/** Page cache and reclaimable slab that a trim could give back, in KiB. */
export function reclaimableKib(meminfo: string): number {
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(meminfo)?.[1] ?? 0);
  return field("Cached") - field("Shmem") + field("SReclaimable");
}

/**
 * Decides when to trim from successive CPU samples: after IDLE_SECONDS of idle samples,
 * once, until a busy sample starts a new period.
 */
export class IdleTracker {
  private idleMs = 0;
  private trimmed = false;
  private last: CpuTimes | null = null;

  /** Feeds one sample taken `elapsedMs` after the previous; true when a trim is due. */
  sample(times: CpuTimes, elapsedMs: number): boolean {
    const previous = this.last;
    this.last = times;
    if (!previous) return false;
    const total = times.total - previous.total;
    const busyShare = total > 0 ? (times.busy - previous.busy) / total : 0;
    if (busyShare > IDLE_BUSY_SHARE) {
      this.idleMs = 0;
      this.trimmed = false;
      return false;
    }
    this.idleMs += elapsedMs;
    if (this.trimmed || this.idleMs < IDLE_SECONDS * 1000) return false;
    this.trimmed = true;
    return true;
  }

  /** Restarts the measurement at `times`, so a trim's own CPU time is not activity. */
  rebase(times: CpuTimes): void {
    this.last = times;
  }
}

/** Drops the clean page cache and compacts memory, so free page reporting can return it. */
function trim(log: (message: string) => void): void {
  try {
    const reclaimable = reclaimableKib(fs.readFileSync("/proc/meminfo", "utf8"));
    if (reclaimable >= MIN_RECLAIMABLE_KIB) {
      // 1: the page cache only (dentries and inodes stay: `find` and diffs keep them warm).
      fs.writeFileSync("/proc/sys/vm/drop_caches", "1");
    }
    fs.writeFileSync("/proc/sys/vm/compact_memory", "1");
    // One line per idle period on the guest's console (runtime/console.log), so whether
    // and when it ran can be read after the fact.
    log(`idle: trimmed memory (${Math.round(reclaimable / 1024)} MiB of page cache)`);
  } catch (error) {
    log(`could not trim idle memory: ${(error as Error).message}`);
  }
}

/** Starts the idle trimmer; the timer does not keep the agent alive. */
export function startIdleTrim(log: (message: string) => void): void {
  const tracker = new IdleTracker();
  let last = Date.now();
  const read = (): CpuTimes | null => {
    try {
      return parseCpuTimes(fs.readFileSync("/proc/stat", "utf8"));
    } catch {
      return null; // no /proc: nothing to measure, nothing to trim
    }
  };
  const timer = setInterval(() => {
    const times = read();
    if (times && tracker.sample(times, Date.now() - last)) {
      trim(log);
      const after = read();
      if (after) tracker.rebase(after);
    }
    last = Date.now();
  }, SAMPLE_MS);
  timer.unref();
}
