/**
 * The shell requests both kinds of terminal send (workspace shells in shells.ts, one-shot VM
 * terminals in vm-terminals.ts): their inputs, the checks that build each agent request body
 * with field-named messages, and the call that says when an agent predates an op.
 */
import { normalizeGuestPath } from "../shared/guest-paths.js";
import type { ShellSignal } from "../shared/shell-signals.js";
import { NotFoundError, PyroError, ValidationError } from "../errors.js";
import type { AgentOp, AgentRequest, AgentResponse } from "../protocol/operations.js";
import type { RuntimeRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { checkIntRange } from "../shared/limits.js";

export type ShellOp = Extract<AgentOp, `shell.${string}`>;

const SHELL_DEFAULTS = { cols: 120, rows: 30, maxChars: 65536 } as const;

const MAX_DIMENSION = 1000;

const MAX_READ_CHARS = 1024 * 1024;

const MAX_INPUT_CHARS = 64 * 1024;

/** Longest a shell read may wait for new output (the agent's limit too). */
const MAX_WAIT_SECONDS = 30;

export interface OpenShellInput {
  /** Under /workspace; default /workspace. */
  cwd?: string;
  cols?: number;
  rows?: number;
  /** {ENV_NAME: SECRET_NAME}: the workspace's secrets in the shell's environment. */
  secret_env?: Record<string, string>;
}

export interface ReadShellInput {
  /** Absolute offset into the shell's output; default 0. */
  cursor?: number;
  max_chars?: number;
  /** At the end of the output, wait up to this long for more (or the shell's exit). */
  wait_seconds?: number;
  /** Return the output as plain text (src/shared/plain-text.ts); cursors stay raw offsets. */
  plain?: boolean;
  /** Keep reading until no output came for this long (see src/core/shell-idle.ts). */
  wait_for_idle_ms?: number;
}

export interface ResizeShellInput {
  cols?: number;
  rows?: number;
}

export interface WriteShellInput {
  input: string;
  /** Default true: the input is sent as a line. */
  append_newline?: boolean;
}

export interface SignalShellInput {
  signal?: ShellSignal;
}

export function openBody(input: OpenShellInput) {
  return {
    cwd: normalizeGuestPath(input.cwd ?? "/workspace", "cwd"),
    cols: checkIntRange("cols", input.cols ?? SHELL_DEFAULTS.cols, 1, MAX_DIMENSION),
    rows: checkIntRange("rows", input.rows ?? SHELL_DEFAULTS.rows, 1, MAX_DIMENSION),
  };
}

export function readBody(shellId: string, input: ReadShellInput) {
  const wait = input.wait_seconds ?? 0;
  if (typeof wait !== "number" || !Number.isFinite(wait) || wait < 0 || wait > MAX_WAIT_SECONDS) {
    throw new ValidationError(
      `wait_seconds must be a number between 0 and ${MAX_WAIT_SECONDS}, got ${String(wait)}`,
      { field: "wait_seconds", value: wait, min: 0, max: MAX_WAIT_SECONDS },
    );
  }
  return {
    shell_id: checkShellId(shellId),
    cursor: checkIntRange("cursor", input.cursor ?? 0, 0, Number.MAX_SAFE_INTEGER),
    max_chars: checkIntRange(
      "max_chars",
      input.max_chars ?? SHELL_DEFAULTS.maxChars,
      1,
      MAX_READ_CHARS,
    ),
    // Sent only when asked for, so reads keep working against agents that predate it.
    ...(wait > 0 ? { wait_seconds: wait } : {}),
  };
}

export function writeBody(shellId: string, input: WriteShellInput) {
  const text = input?.input;
  if (typeof text !== "string")
    throw new ValidationError("input must be a string", { field: "input" });
  if (text.length > MAX_INPUT_CHARS) {
    throw new ValidationError(
      `input must be at most ${MAX_INPUT_CHARS} characters, got ${text.length}`,
      {
        field: "input",
      },
    );
  }
  const appendNewline = input.append_newline ?? true;
  if (typeof appendNewline !== "boolean") {
    throw new ValidationError("append_newline must be a boolean", { field: "append_newline" });
  }
  return { shell_id: checkShellId(shellId), input: text, append_newline: appendNewline };
}

export function resizeBody(shellId: string, input: ResizeShellInput) {
  return {
    shell_id: checkShellId(shellId),
    ...(input.cols === undefined
      ? {}
      : { cols: checkIntRange("cols", input.cols, 1, MAX_DIMENSION) }),
    ...(input.rows === undefined
      ? {}
      : { rows: checkIntRange("rows", input.rows, 1, MAX_DIMENSION) }),
  };
}

/** One shell request; an agent from before an op (shell.resize) gets a message that says so. */
export async function agentShellCall<Op extends ShellOp>(
  context: ManagerContext,
  runtime: RuntimeRecord,
  op: Op,
  body: AgentRequest<Op>,
): Promise<AgentResponse<Op>> {
  try {
    return await context.pool.call(runtime, op, body);
  } catch (error) {
    if (
      error instanceof PyroError &&
      error.code === "protocol_error" &&
      error.message.startsWith("unknown agent operation")
    ) {
      throw new PyroError(
        "protocol_error",
        `the sandbox's agent predates '${op}' (the sandbox was started by an older pyro); reset the workspace to boot it with this version's agent`,
        { op },
        { cause: error },
      );
    }
    throw error;
  }
}

/** Shell ids are ours (hex); anything else cannot name a shell. */
export function checkShellId(raw: string): string {
  if (typeof raw !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(raw)) {
    throw new NotFoundError(`shell '${String(raw)}' does not exist`, { shell_id: raw });
  }
  return raw;
}
