import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";

import { ValidationError } from "../errors.js";
import type { ExecResult } from "../shared/exec-result.js";
import { CONFINE_SCRIPT, type ExecCgroup, type ExecCgroups } from "./exec-cgroup.js";
import { OWNER_ENV, killOwned, newOwnerToken, ownerMarker } from "../process/ownership.js";
import { killProcessGroup, signalNumber } from "../process/process-group.js";

const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const TIMEOUT_EXIT_CODE = 124;
/** What a cancelled command (caller gone, Ctrl-C, command_kill) reports, as a shell would for SIGINT. */
const CANCELLED_EXIT_CODE = 130;
/**
 * After the command's shell exited and what it left running was killed, how long to wait
 * for the pipes to close: only a process that escaped the kill still holds them then.
 */
const STREAM_GRACE_MS = 1_000;

interface ExecRequest {
  command: string;
  cwd: string;
  env?: Record<string, string>;
  timeoutSeconds: number;
  maxOutputBytes?: number;
  /** Text written to the command's stdin, which is then closed (no stdin at all without it). */
  stdin?: string;
  /**
   * Receives every chunk as it arrives (1 = stdout, 2 = stderr). A promise it returns pauses
   * that stream until it settles: output is passed on with backpressure, never piled up.
   */
  onOutput?: (stream: 1 | 2, chunk: Buffer) => void | Promise<void>;
}

/** A command started by startCommand: its result once it ends, and how to cancel it. */
export interface RunningExec {
  readonly pid: number | undefined;
  readonly done: Promise<ExecResult & { cancelled: boolean }>;
  /** Kills everything the command started; it then ends with exit code 130, `cancelled`. */
  cancel(): void;
}

/** Collects a stream up to a byte cap and remembers how much it dropped. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    const room = this.cap - this.kept;
    if (room <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const slice = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(slice);
    this.kept += slice.length;
    this.dropped += chunk.length - slice.length;
  }

  text(label: string): string {
    const body = Buffer.concat(this.chunks).toString("utf8");
    if (this.dropped === 0) return body;
    return `${body}\n[pyro: ${label} truncated, ${this.dropped} bytes dropped after ${this.cap} bytes]\n`;
  }
}

let cgroups: ExecCgroups | null = null;

/** In a real guest, the agent confines every exec to a cgroup of its own (exec-cgroup.ts). */
export function confineExecs(to: ExecCgroups | null): void {
  cgroups = to;
}

/** Shell code a shell or service runs first, to join the commands' cgroup ("" elsewhere). */
export function sessionPrefix(): string {
  return cgroups?.sessionPrefix() ?? "";
}

/**
 * What one exec started, and how to kill all of it: its cgroup in a real guest; elsewhere
 * (the host backend, a guest without cgroup v2) its session (the shell is a session leader)
 * and its process group, plus a PYRO_OWNER marker in the environment for processes that
 * left both (`setsid`). Only a process that also clears its environment escapes the latter.
 */
class ExecProcesses {
  readonly token = newOwnerToken();
  pid: number | undefined;

  constructor(readonly cgroup: ExecCgroup | null) {}

  /** SIGKILLs everything at once; enough for a timeout, the shell's exit event follows. */
  killNow(): void {
    this.cgroup?.kill();
    killProcessGroup(this.pid, "SIGKILL");
  }

  private swept: Promise<void> | null = null;

  /** Kills what is left when the exec ends, so nothing it started outlives the call. */
  sweep(): Promise<void> {
    this.swept ??= this.sweepOnce();
    return this.swept;
  }

  private async sweepOnce(): Promise<void> {
    killProcessGroup(this.pid, "SIGKILL");
    if (this.cgroup) {
      await this.cgroup.destroy();
      return;
    }
    if (this.pid !== undefined) {
      await killOwned({ sid: this.pid, marker: ownerMarker(this.token) }, "SIGKILL", 0);
    }
  }
}

/** Runs a command to its end (startCommand, awaited). */
export async function runCommand(request: ExecRequest): Promise<ExecResult> {
  const { cancelled: _cancelled, ...result } = await startCommand(request).done;
  return result;
}

/** Starts `/bin/sh -c command` in its own session (and cgroup, when there is one). */
function spawnShell(request: ExecRequest, processes: ExecProcesses): ChildProcess {
  const argv = processes.cgroup
    ? ["-c", CONFINE_SCRIPT, "/bin/sh", processes.cgroup.procsFile, request.command]
    : ["-c", request.command];
  const child = spawn("/bin/sh", argv, {
    cwd: request.cwd,
    env: { ...process.env, ...request.env, [OWNER_ENV]: processes.token },
    detached: true,
    stdio: [request.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  processes.pid = child.pid;
  if (child.stdin) {
    // A command that exits without reading its stdin closes the pipe: not an error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(request.stdin ?? "");
  }
  return child;
}

/** Keeps one output stream (capped), forwarding each chunk; a forward in flight pauses it. */
function collect(
  stream: 1 | 2,
  from: Readable,
  into: CappedBuffer,
  onOutput: ExecRequest["onOutput"],
): void {
  from.on("data", (chunk: Buffer) => {
    into.push(chunk);
    const pending = onOutput?.(stream, chunk);
    if (pending) {
      from.pause();
      void pending.catch(() => undefined).finally(() => from.resume());
    }
  });
}

/** The result of an ended command; a timeout or a cancel says so after its stderr. */
function execResult(
  request: ExecRequest,
  end: { exitCode: number | null; timedOut: boolean; cancelled: boolean; durationMs: number },
  stdout: CappedBuffer,
  stderr: CappedBuffer,
): ExecResult & { cancelled: boolean } {
  const { timedOut, cancelled } = end;
  let stderrText = stderr.text("stderr");
  if (timedOut) {
    stderrText += `command timed out after ${request.timeoutSeconds} seconds\n`;
  } else if (cancelled) {
    stderrText += "command cancelled: its caller went away or asked to stop it\n";
  }
  return {
    exit_code: timedOut ? TIMEOUT_EXIT_CODE : cancelled ? CANCELLED_EXIT_CODE : (end.exitCode ?? 1),
    stdout: stdout.text("stdout"),
    stderr: stderrText,
    duration_ms: end.durationMs,
    timed_out: timedOut,
    stdout_truncated: stdout.dropped > 0,
    stderr_truncated: stderr.dropped > 0,
    cancelled,
  };
}

/**
 * Runs one shell command in its own session and process group (and, in a guest, cgroup),
 * so a timeout or a cancel can kill everything the command started (pipelines, subshells,
 * background jobs), not just the shell; whatever is still running when the shell exits is
 * killed too. Returns at once; `done` settles when the command ended.
 */
export function startCommand(request: ExecRequest): RunningExec {
  if (!Number.isFinite(request.timeoutSeconds) || request.timeoutSeconds <= 0) {
    throw new ValidationError(`timeout_seconds must be positive, got ${request.timeoutSeconds}`);
  }
  const cap = request.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const started = process.hrtime.bigint();
  const processes = new ExecProcesses(cgroups?.create() ?? null);
  const child = spawnShell(request, processes);
  // Both are pipes (spawnShell's stdio); the types cannot know it.
  const outPipe = child.stdout as Readable;
  const errPipe = child.stderr as Readable;
  let timedOut = false;
  let cancelled = false;
  let exited = false;
  const done = new Promise<ExecResult & { cancelled: boolean }>((resolve, reject) => {
    const stdout = new CappedBuffer(cap);
    const stderr = new CappedBuffer(cap);
    collect(1, outPipe, stdout, request.onOutput);
    collect(2, errPipe, stderr, request.onOutput);

    let exitCode: number | null = null;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      processes.killNow();
    }, request.timeoutSeconds * 1000);

    const finish = async (): Promise<void> => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outPipe.destroy();
      errPipe.destroy();
      const duration = Number((process.hrtime.bigint() - started) / 1_000_000n);
      await processes.sweep();
      const end = { exitCode, timedOut, cancelled, durationMs: duration };
      resolve(execResult(request, end, stdout, stderr));
    };

    child.once("error", (error) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        void processes.sweep().finally(() => reject(error));
      }
    });
    child.once("exit", (code, signal) => {
      exited = true;
      exitCode = code ?? (signal ? 128 + signalNumber(signal) : 1);
      // Background jobs would hold the pipes open: they are killed now, and the output
      // already written is read to its end ("close"), however busy the agent is.
      void processes.sweep().then(() => setTimeout(() => void finish(), STREAM_GRACE_MS).unref());
    });
    child.once("close", () => void finish());
  });
  return {
    pid: child.pid,
    done,
    cancel(): void {
      // A command whose shell already exited ran to its end; only its leftovers are killed.
      if (timedOut || cancelled || exited) return;
      cancelled = true;
      processes.killNow();
    },
  };
}
