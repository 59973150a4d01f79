/**
 * Keeps a guest's clock in step with the host's, NTP-style, over the agent channel: a
 * hello carrying `clock_probe_ms` (the host's time when sent) comes back with the probe
 * echoed and the guest's time, so the host knows the round trip and the offset to within
 * half of it; when the offset is too large, the next probe carries `clock_step_ms`, which
 * the agent applies relative to its own clock (so the message's delay does not matter)
 * before it answers, and that answer checks the step.
 *
 * A TCG guest's clock falls behind under host load, and a freshly booted guest's clock
 * comes from the kernel command line, seconds old: files pushed from the host then look
 * "in the future" to `make` (clock skew warnings, needless rebuilds).
 */

/** An offset this small is left alone (well inside make's one-second granularity). */
const CLOCK_TOLERANCE_MS = 100;
/** An answer slower than this says too little about the offset (error: half of it). */
const MAX_ROUND_TRIP_MS = 200;
/** How long one probe waits for its answer. */
const PROBE_TIMEOUT_MS = 1_000;
/** Probes per sync: the first measures, a second steps and checks, the rest retry. */
const MAX_PROBES = 5;
/** The relay syncs before forwarding a request when the last good sync is older than this. */
const CLOCK_FRESH_MS = 1_000;
/** After a sync that failed (a guest too busy to answer quickly), requests wait no more for this long. */
const CLOCK_RETRY_MS = 5_000;

export interface ClockSample {
  /** guest minus host, in ms, at the last answer */
  offsetMs: number;
  roundTripMs: number;
}

type Send = (fields: Record<string, unknown>) => Promise<void>;

export class GuestClock {
  private readonly pending = new Map<number, (answer: Record<string, unknown>) => void>();
  private lastProbe = 0;
  private syncing: Promise<ClockSample | null> | null = null;
  /** Until when (Date.now()) requests need no sync first. */
  private freshUntil = 0;
  /** When (Date.now()) the last sync within tolerance ended. */
  private syncedAt = 0;
  /** The last answer's measurement (for tests and the benchmark). */
  last: ClockSample | null = null;

  /** `send` writes a hello with the given fields (plus the protocol fields) to the guest. */
  constructor(private readonly send: Send) {}

  /** Whether a request may go to the guest without a sync first. */
  get fresh(): boolean {
    return Date.now() < this.freshUntil;
  }

  /**
   * The next request waits for a sync (a new client may be about to write files), unless
   * one ended within tolerance less than `graceMs` ago: the first request of a client that
   * connects right after a boot or reset does not wait for a second one.
   */
  expire(graceMs = 0): void {
    if (Date.now() - this.syncedAt >= graceMs) this.freshUntil = 0;
  }

  /** A hello the guest sent: resolves the probe it answers, if any is still waiting. */
  onHello(fields: Record<string, unknown>): void {
    const echo = fields.clock_echo_ms;
    if (typeof echo !== "number") return;
    const waiter = this.pending.get(echo);
    this.pending.delete(echo);
    waiter?.(fields);
  }

  /**
   * Measures the offset and steps the guest's clock until it is within tolerance; one
   * sync at a time (callers share a running one). Resolves null when the guest never
   * answered in time (an older agent, or a guest too busy): the caller goes on regardless.
   */
  sync(): Promise<ClockSample | null> {
    this.syncing ??= this.run().then((sample) => {
      const good = sample !== null && Math.abs(sample.offsetMs) <= CLOCK_TOLERANCE_MS;
      this.freshUntil = Date.now() + (good ? CLOCK_FRESH_MS : CLOCK_RETRY_MS);
      if (good) this.syncedAt = Date.now();
      this.syncing = null;
      return sample;
    });
    return this.syncing;
  }

  private async run(): Promise<ClockSample | null> {
    let step = 0;
    let sample: ClockSample | null = null;
    for (let probe = 0; probe < MAX_PROBES; probe += 1) {
      const answer = await this.probe(step);
      if (!answer) return sample;
      sample = answer;
      this.last = answer;
      if (answer.roundTripMs > MAX_ROUND_TRIP_MS) {
        step = 0;
        continue;
      }
      if (Math.abs(answer.offsetMs) <= CLOCK_TOLERANCE_MS) return answer;
      step = -Math.round(answer.offsetMs);
    }
    return sample;
  }

  /** One round trip; null on timeout. */
  private async probe(stepMs: number): Promise<ClockSample | null> {
    // A unique key per probe, even two in the same millisecond.
    const sent = Math.max(Date.now(), this.lastProbe + 1);
    this.lastProbe = sent;
    const answered = new Promise<Record<string, unknown> | null>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(sent);
        resolve(null);
      }, PROBE_TIMEOUT_MS);
      this.pending.set(sent, (fields) => {
        clearTimeout(timer);
        resolve(fields);
      });
    });
    const fields: Record<string, unknown> = { clock_probe_ms: sent };
    if (stepMs !== 0) fields.clock_step_ms = stepMs;
    await this.send(fields).catch(() => undefined);
    const answer = await answered;
    const received = Date.now();
    if (!answer || typeof answer.guest_time_ms !== "number") return null;
    return {
      offsetMs: answer.guest_time_ms - (sent + received) / 2,
      roundTripMs: received - sent,
    };
  }
}
