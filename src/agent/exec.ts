import { spawn } from "node:child_process";

import { ValidationError } from "../errors.js";
import { killProcessGroup, signalNumber } from "./process-group.js";

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const TIMEOUT_EXIT_CODE = 124;
/** After the command exits, how long to wait for background children to release stdout. */
const STREAM_GRACE_MS = 200;

export interface ExecRequest {
  command: string;
  cwd: string;
  env?: Record<string, string>;
  timeoutSeconds: number;
  maxOutputBytes?: number;
}

export interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
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

/**
 * Runs one shell command in its own process group, so a timeout can kill everything the
 * command started (pipelines, subshells), not just the shell.
 */
export function runCommand(request: ExecRequest): Promise<ExecResult> {
  if (!Number.isFinite(request.timeoutSeconds) || request.timeoutSeconds <= 0) {
    throw new ValidationError(`timeout_seconds must be positive, got ${request.timeoutSeconds}`);
  }
  const cap = request.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", request.command], {
      cwd: request.cwd,
      env: { ...process.env, ...request.env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout = new CappedBuffer(cap);
    const stderr = new CappedBuffer(cap);
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

    let timedOut = false;
    let exitCode: number | null = null;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killProcessGroup(child.pid, "SIGKILL");
    }, request.timeoutSeconds * 1000);

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      const duration = Number((process.hrtime.bigint() - started) / 1_000_000n);
      let stderrText = stderr.text("stderr");
      if (timedOut) {
        stderrText += `command timed out after ${request.timeoutSeconds} seconds\n`;
      }
      resolve({
        exit_code: timedOut ? TIMEOUT_EXIT_CODE : (exitCode ?? 1),
        stdout: stdout.text("stdout"),
        stderr: stderrText,
        duration_ms: duration,
        timed_out: timedOut,
        stdout_truncated: stdout.dropped > 0,
        stderr_truncated: stderr.dropped > 0,
      });
    };

    child.once("error", (error) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal ? 128 + signalNumber(signal) : 1);
      // A background job may still hold the pipes open; do not wait for it forever.
      setTimeout(finish, STREAM_GRACE_MS).unref();
    });
    child.once("close", finish);
  });
}
