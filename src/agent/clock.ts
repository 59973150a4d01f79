/**
 * The guest's clock, kept in step with the host's by the VM supervisor (see
 * src/backends/qemu/guest-clock.ts). The supervisor measures the offset itself, NTP-style
 * (a probe's round trip), and sends a relative step: a step is independent of how long the
 * message took to arrive, which an absolute time is not (greetings queued while the agent
 * starts arrive seconds late).
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";

import { sysHelper } from "./sys-helper.js";

/**
 * How long `date -s` took last time (the fallback when the system call helper is not
 * running). It sets the clock near the end of its run, so a step adds most of that latency
 * in advance; the supervisor's next probe corrects what is left.
 */
let lastSetMs = 0;

/** Moves the clock by `stepMs` (positive: forward). */
export async function stepClock(stepMs: number): Promise<void> {
  // The helper reads the clock and sets it in one go: nothing to compensate.
  const answer = await sysHelper.request("step", String(Math.round(stepMs)));
  if (answer?.ok) return;
  const started = performance.now();
  setClockWithDate(Date.now() + stepMs + lastSetMs * 0.75);
  lastSetMs = performance.now() - started;
}

/**
 * An absolute time (a restore's refresh, or an older supervisor's hello without a probe):
 * the clock is set to it when more than 250 ms off. Resolves whether it was set.
 */
export async function syncClock(hostEpochMs: number): Promise<boolean> {
  if (Math.abs(Date.now() - hostEpochMs) < 250) return false;
  const answer = await sysHelper.request("settime", String(Math.round(hostEpochMs)));
  if (!answer?.ok) setClockWithDate(hostEpochMs);
  return true;
}

function setClockWithDate(epochMs: number): void {
  const result = spawnSync("date", ["-u", "-s", `@${(epochMs / 1000).toFixed(3)}`], {
    stdio: "ignore",
  });
  if (result.status !== 0) console.error("pyro-agent: could not set the clock from the host");
}
