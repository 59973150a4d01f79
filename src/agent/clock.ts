/**
 * The guest's clock, kept in step with the host's by the VM supervisor (see
 * src/backends/qemu/guest-clock.ts). The supervisor measures the offset itself, NTP-style
 * (a probe's round trip), and sends a relative step: a step is independent of how long the
 * message took to arrive, which an absolute time is not (greetings queued while the agent
 * starts arrive seconds late).
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";

/**
 * How long `date -s` took last time. It sets the clock near the end of its run, so a step
 * adds most of that latency in advance; the supervisor's next probe corrects what is left.
 */
let lastSetMs = 0;

/** Moves the clock by `stepMs` (positive: forward). */
export function stepClock(stepMs: number): void {
  const started = performance.now();
  setClock(Date.now() + stepMs + lastSetMs * 0.75);
  lastSetMs = performance.now() - started;
}

/**
 * An older supervisor's absolute time (a hello's `host_time_ms` without a probe): the
 * clock is set to it when more than 250 ms off.
 */
export function syncClock(hostEpochMs: number): void {
  if (Math.abs(Date.now() - hostEpochMs) < 250) return;
  setClock(hostEpochMs);
}

function setClock(epochMs: number): void {
  const result = spawnSync("date", ["-u", "-s", `@${(epochMs / 1000).toFixed(3)}`], {
    stdio: "ignore",
  });
  if (result.status !== 0) console.error("pyro-agent: could not set the clock from the host");
}
