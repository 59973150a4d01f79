import { StringDecoder } from "node:string_decoder";

import { NotFoundError, PyroError } from "../errors.js";
import type { ExecResult } from "../shared/exec-result.js";
import { OutputBuffer } from "./output-buffer.js";
import type { RunningExec } from "./exec.js";

/**
 * The commands of one sandbox, owned by the agent (the per-sandbox long-lived process on
 * both backends), so a command outlives the host process that started it.
 *
 * Every command is kept until its result is in the workspace's command log: the host
 * claims a finished command under the workspace lock (`command.claim`), appends its log
 * entry, then acknowledges it with its sequence (`command.ack`). A claim that was never
 * acknowledged (the claiming process died in between) is reported as `stale`, so the next
 * claimer checks the log before appending: each command lands in the log exactly once.
 */

/** Characters of each stream kept for `command.read` (older output is dropped, cursors stay absolute). */
const READ_BUFFER_CHARS = 256 * 1024;
/** Commands running or waiting to be logged at once; more is refused, never piled up. */
const MAX_LIVE_COMMANDS = 64;
/**
 * Logged commands still kept whole (for command_wait from another process); the host finds
 * older ones in the command log by their command_id.
 */
const KEPT_LOGGED = 16;

type ClaimState = "none" | "claimed" | "logged";
type CommandResult = ExecResult & { cancelled: boolean };
type Listener = () => void;
type OutputForward = (stream: 1 | 2, chunk: Buffer) => void | Promise<void>;

export class CommandEntry {
  state: "running" | "exited" = "running";
  endedAt: number | null = null;
  result: CommandResult | null = null;
  /** Yielded to the background on purpose: its caller going away no longer cancels it. */
  background = false;
  claim: ClaimState = "none";
  sequence: number | null = null;
  /** The live streamer of the request that runs it in the foreground, if any. */
  forward: OutputForward | null = null;
  readonly stdout = new OutputBuffer(READ_BUFFER_CHARS);
  readonly stderr = new OutputBuffer(READ_BUFFER_CHARS);
  private readonly decoders = [new StringDecoder("utf8"), new StringDecoder("utf8")];
  private readonly listeners = new Set<Listener>();
  exec: RunningExec | null = null;
  readonly startedAt = Date.now() / 1000;

  constructor(
    readonly id: string,
    readonly command: string,
    readonly cwd: string,
  ) {}

  /** New output: kept for readers, passed to the foreground streamer (with its backpressure). */
  output(stream: 1 | 2, chunk: Buffer): void | Promise<void> {
    const buffer = stream === 1 ? this.stdout : this.stderr;
    buffer.append((this.decoders[stream - 1] as StringDecoder).write(chunk));
    this.notify();
    return this.forward?.(stream, chunk);
  }

  finish(result: CommandResult): void {
    this.stdout.append((this.decoders[0] as StringDecoder).end());
    this.stderr.append((this.decoders[1] as StringDecoder).end());
    this.result = result;
    this.state = "exited";
    this.endedAt = Date.now() / 1000;
    this.notify();
  }

  /** Resolves on new output or exit, or after `ms`; never later. */
  changed(ms: number): Promise<void> {
    if (this.state === "exited" || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.listeners.add(done);
    });
  }

  /** Resolves when the command ended, or after `ms` (undefined: no limit). */
  async ended(ms?: number): Promise<void> {
    const deadline = ms === undefined ? Infinity : Date.now() + ms;
    while (this.state !== "exited" && Date.now() < deadline) {
      await this.changed(Math.min(deadline - Date.now(), 60_000));
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** What every command op answers: the command and its state, without output. */
  describe() {
    const result = this.result;
    return {
      command_id: this.id,
      command: this.command,
      cwd: this.cwd,
      state: this.state,
      pid: this.exec?.pid ?? 0,
      started_at: this.startedAt,
      ended_at: this.endedAt,
      exit_code: result?.exit_code ?? null,
      cancelled: result?.cancelled ?? false,
      timed_out: result?.timed_out ?? false,
      background: this.background,
      claim: this.claim,
      sequence: this.sequence,
    };
  }

  /**
   * Output with the description: the whole result once exited (each stream's head up to
   * the output cap, as exec returns it); so far while running (the tail the read buffer
   * still holds).
   */
  withOutput() {
    const result = this.result;
    if (result) {
      return {
        ...this.describe(),
        stdout: result.stdout,
        stderr: result.stderr,
        duration_ms: result.duration_ms,
        stdout_truncated: result.stdout_truncated,
        stderr_truncated: result.stderr_truncated,
      };
    }
    const out = this.stdout.read(0, READ_BUFFER_CHARS);
    const err = this.stderr.read(0, READ_BUFFER_CHARS);
    return {
      ...this.describe(),
      stdout: out.output,
      stderr: err.output,
      duration_ms: Math.round(Date.now() - this.startedAt * 1000),
      stdout_truncated: out.dropped_chars > 0,
      stderr_truncated: err.dropped_chars > 0,
    };
  }
}

export class CommandTable {
  private readonly entries = new Map<string, CommandEntry>();

  get(id: string): CommandEntry {
    const entry = this.entries.get(id);
    if (!entry) {
      throw new NotFoundError(`command '${id}' does not exist in this sandbox`, {
        command_id: id,
      });
    }
    return entry;
  }

  find(id: string): CommandEntry | undefined {
    return this.entries.get(id);
  }

  all(): CommandEntry[] {
    return [...this.entries.values()];
  }

  add(entry: CommandEntry): void {
    const live = this.all().filter((each) => each.claim !== "logged").length;
    if (live >= MAX_LIVE_COMMANDS) {
      throw new PyroError(
        "limit_exceeded",
        `this sandbox already has ${live} commands running or waiting to be logged (limit ${MAX_LIVE_COMMANDS}); wait for or kill some first`,
        { limit: "commands", max: MAX_LIVE_COMMANDS },
      );
    }
    this.entries.set(entry.id, entry);
  }

  /** After an ack: forget the oldest logged commands beyond KEPT_LOGGED. */
  evict(): void {
    const logged = this.all().filter((each) => each.claim === "logged");
    logged.sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0));
    for (const entry of logged.slice(KEPT_LOGGED)) this.entries.delete(entry.id);
  }

  /** Kills every running command (the agent is shutting down). */
  cancelAll(): void {
    for (const entry of this.entries.values()) entry.exec?.cancel();
  }
}
