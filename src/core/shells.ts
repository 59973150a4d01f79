/**
 * Manager side of persistent shells. The shells themselves live in the sandbox's agent
 * (src/agent/shells.ts), which is what lets any process use a shell another opened; this
 * module validates input with field-named messages, checks the workspace is running and
 * forwards. Nothing about a shell is stored on the host.
 */
import { normalizeGuestPath } from "../shared/guest-paths.js";
import { SHELL_SIGNALS, type ShellSignal } from "../shared/shell-signals.js";
import { NotFoundError, PyroError, ValidationError } from "../errors.js";
import type { AgentOp, AgentRequest, AgentResponse } from "../protocol/operations.js";
import type { WorkspaceRecord } from "../store/records.js";

type ShellOp = Extract<AgentOp, `shell.${string}`>;
import type { ManagerContext } from "./context.js";
import { checkIntRange } from "../shared/limits.js";
import { requireStarted } from "./workspace-ops.js";

const SHELL_DEFAULTS = { cols: 120, rows: 30, maxChars: 65536 } as const;
const MAX_DIMENSION = 1000;
const MAX_READ_CHARS = 1024 * 1024;
const MAX_INPUT_CHARS = 64 * 1024;

export interface OpenShellInput {
  /** Under /workspace; default /workspace. */
  cwd?: string;
  cols?: number;
  rows?: number;
}

export interface ReadShellInput {
  /** Absolute offset into the shell's output; default 0. */
  cursor?: number;
  max_chars?: number;
}

export interface WriteShellInput {
  input: string;
  /** Default true: the input is sent as a line. */
  append_newline?: boolean;
}

export interface SignalShellInput {
  signal?: ShellSignal;
}

/** What every shell call returns about the shell. */
export interface ShellPayload {
  workspace_id: string;
  shell_id: string;
  state: "running" | "exited";
  cwd: string;
  cols: number;
  rows: number;
  pid: number;
  started_at: number;
  ended_at: number | null;
  exit_code: number | null;
  execution_mode: string;
}

export interface ShellReadPayload extends ShellPayload {
  output: string;
  /** Where `output` starts (later than the requested cursor when that output was dropped). */
  cursor: number;
  next_cursor: number;
  /** More output is waiting after next_cursor (max_chars cut this read short). */
  truncated: boolean;
  /** Characters between the requested cursor and `cursor` that the bounded buffer dropped. */
  dropped_chars: number;
  buffer_start: number;
  buffer_end: number;
}

export async function openShell(
  context: ManagerContext,
  workspaceId: string,
  input: OpenShellInput = {},
) {
  const body = {
    cwd: normalizeGuestPath(input.cwd ?? "/workspace", "cwd"),
    cols: checkIntRange("cols", input.cols ?? SHELL_DEFAULTS.cols, 1, MAX_DIMENSION),
    rows: checkIntRange("rows", input.rows ?? SHELL_DEFAULTS.rows, 1, MAX_DIMENSION),
  };
  const record = await requireStarted(context, workspaceId, "shell_open");
  return shellCall(context, record, "shell.open", body);
}

export async function readShell(
  context: ManagerContext,
  workspaceId: string,
  shellId: string,
  input: ReadShellInput = {},
) {
  const body = {
    shell_id: checkShellId(shellId),
    cursor: checkIntRange("cursor", input.cursor ?? 0, 0, Number.MAX_SAFE_INTEGER),
    max_chars: checkIntRange(
      "max_chars",
      input.max_chars ?? SHELL_DEFAULTS.maxChars,
      1,
      MAX_READ_CHARS,
    ),
  };
  const record = await requireStarted(context, workspaceId, "shell_read");
  return shellCall(context, record, "shell.read", body);
}

export async function writeShell(
  context: ManagerContext,
  workspaceId: string,
  shellId: string,
  input: WriteShellInput,
) {
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
  const body = { shell_id: checkShellId(shellId), input: text, append_newline: appendNewline };
  const record = await requireStarted(context, workspaceId, "shell_write");
  return shellCall(context, record, "shell.write", body);
}

export async function signalShell(
  context: ManagerContext,
  workspaceId: string,
  shellId: string,
  input: SignalShellInput = {},
) {
  const raw: unknown = input.signal ?? "INT";
  const signal = typeof raw === "string" ? raw.toUpperCase().replace(/^SIG/, "") : raw;
  if (typeof signal !== "string" || !(SHELL_SIGNALS as readonly string[]).includes(signal)) {
    throw new ValidationError(
      `signal must be one of: ${SHELL_SIGNALS.join(", ")}; got '${String(raw)}'`,
      {
        field: "signal",
        value: raw,
      },
    );
  }
  const body = { shell_id: checkShellId(shellId), signal };
  const record = await requireStarted(context, workspaceId, "shell_signal");
  return shellCall(context, record, "shell.signal", body);
}

export async function closeShell(context: ManagerContext, workspaceId: string, shellId: string) {
  const body = { shell_id: checkShellId(shellId) };
  const record = await requireStarted(context, workspaceId, "shell_close");
  await shellCall(context, record, "shell.close", body);
  return { workspace_id: record.workspace_id, shell_id: body.shell_id, closed: true };
}

/** Shell ids are ours (hex); anything else cannot name a shell. */
function checkShellId(raw: string): string {
  if (typeof raw !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(raw)) {
    throw new NotFoundError(`shell '${String(raw)}' does not exist`, { shell_id: raw });
  }
  return raw;
}

async function shellCall<Op extends ShellOp>(
  context: ManagerContext,
  record: WorkspaceRecord,
  op: Op,
  body: AgentRequest<Op> & { shell_id?: string },
): Promise<{ workspace_id: string } & AgentResponse<Op> & { execution_mode: string }> {
  const runtime = record.runtime;
  if (!runtime) throw new PyroError("internal", "a started workspace has no runtime");
  try {
    const result: AgentResponse<Op> = await context.pool.call(runtime, op, body);
    // Keys in this order (workspace_id first); Object.assign keeps the op's response type.
    const tagged: { workspace_id: string } = { workspace_id: record.workspace_id };
    const mode: { execution_mode: string } = { execution_mode: record.execution_mode };
    return Object.assign(tagged, result, mode);
  } catch (error) {
    if (
      error instanceof PyroError &&
      error.code === "not_found" &&
      typeof body.shell_id === "string"
    ) {
      throw new NotFoundError(
        `shell '${body.shell_id}' does not exist in workspace '${record.workspace_id}'`,
        { workspace_id: record.workspace_id, shell_id: body.shell_id },
      );
    }
    throw error;
  }
}
