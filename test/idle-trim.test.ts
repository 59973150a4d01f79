/**
 * The guest agent's idle trim (src/agent/idle-trim.ts): when it decides a guest is idle,
 * and what it counts as reclaimable. Its effect on host memory is measured by
 * `BENCH_GUEST_ONLY=transfer node scripts/bench-guest.mjs` (docs/performance.md).
 */
import { describe, expect, it } from "vitest";

import { IdleTracker, parseCpuTimes, reclaimableKib } from "../src/agent/idle-trim.js";

/** A /proc/stat first line with `busy` user ticks and `idle` idle ticks. */
const stat = (busy: number, idle: number, iowait = 0): string =>
  `cpu  ${busy} 0 0 ${idle} ${iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n`;

describe("the guest's idle trim", () => {
  it("reads aggregate CPU time from /proc/stat, iowait counted as idle", () => {
    expect(parseCpuTimes(stat(10, 90, 5))).toEqual({ busy: 10, total: 105 });
    expect(parseCpuTimes("cpu0 1 2 3 4\n")).toBeNull();
    expect(parseCpuTimes("cpu  a b c d\n")).toBeNull();
  });

  it("trims once after 10 s of idle samples, and again only after a busy period", () => {
    const tracker = new IdleTracker();
    let busy = 0;
    let idle = 0;
    const tick = (busyTicks: number, idleTicks: number): boolean => {
      busy += busyTicks;
      idle += idleTicks;
      return tracker.sample({ busy, total: busy + idle }, 2_000);
    };
    expect(tick(0, 0)).toBe(false); // the first sample is only a baseline
    const idleRun = (): boolean[] => Array.from({ length: 6 }, () => tick(1, 199));
    expect(idleRun()).toEqual([false, false, false, false, true, false]);
    expect(idleRun()).toEqual([false, false, false, false, false, false]);
    expect(tick(150, 50)).toBe(false); // a build: busy
    expect(idleRun()).toEqual([false, false, false, false, true, false]);
  });

  it("does not count the trim's own CPU time as activity", () => {
    const tracker = new IdleTracker();
    let busy = 0;
    let total = 0;
    const sample = (): boolean => tracker.sample({ busy, total }, 2_000);
    sample();
    let trims = 0;
    for (let i = 0; i < 20; i += 1) {
      total += 200;
      if (sample()) {
        trims += 1;
        // Compaction under TCG: a second of busy CPU, then a fresh baseline.
        busy += 100;
        total += 100;
        tracker.rebase({ busy, total });
      }
    }
    expect(trims).toBe(1);
  });

  it("counts the page cache (not shared memory) and reclaimable slab", () => {
    const meminfo = [
      "MemTotal:         995744 kB",
      "Cached:           192736 kB",
      "Shmem:              1000 kB",
      "SReclaimable:      12000 kB",
    ].join("\n");
    expect(reclaimableKib(meminfo)).toBe(192736 - 1000 + 12000);
  });
});
