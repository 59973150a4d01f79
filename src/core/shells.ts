/**
 * Manager side of persistent shells. The shells themselves live in the sandbox's agent
 * (src/agent/shells.ts), which is what lets any process use a shell another opened; this
 * module validates input with field-named messages, checks the workspace is running and
 * forwards. Nothing about a shell is stored on the host.
 *
 * One-shot VMs get terminals too (`pyro run -it`), through the same agent operations; those
 * are Manager methods for the CLI, not catalogue operations (a one-shot VM has no shell API).
 */
import { normalizeGuestPath } from "../shared/guest-paths.js";
import { SHELL_SIGNALS, type ShellSignal } from "../shared/shell-signals.js";
import { NotFoundError, PyroError, StateError, ValidationError } from "../errors.js";
import type { AgentOp, AgentRequest, AgentResponse } from "../protocol/operations.js";
import type { RuntimeRecord, WorkspaceRecord } from "../store/records.js";

type ShellOp = Extract<AgentOp, `shell.${string}`>;
import type { ManagerContext } from "./context.js";
import { checkCommand, checkIntRange } from "../shared/limits.js";
import { loadLiveVm } from "./vms.js";
import { lookBehindStart, redactPage } from "./redacted-reads.js";
import type { Redactor } from "../shared/redact.js";
import { redactingErrors, redactorFor, secretEnv } from "./secrets.js";
import { requireStarted } from "./workspace-ops.js";
import { plainText } from "../shared/plain-text.js";
import { readOptions, readUntilIdle } from "./shell-idle.js";

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
  const body = openBody(input);
  return redactingErrors(context, workspaceId, async () => {
    const record = await requireStarted(context, workspaceId, "shell_open");
    const env = await secretEnv(context, record, input.secret_env, undefined);
    if (env && !(await supportsSecrets(context, record))) throw agentWithoutSecrets(record);
    return shellCall(context, record, "shell.open", env ? { ...body, env } : body);
  });
}

async function supportsSecrets(context: ManagerContext, record: WorkspaceRecord) {
  return record.runtime !== null && context.pool.supports(record.runtime, "secrets.write");
}

function agentWithoutSecrets(record: WorkspaceRecord): StateError {
  // An older agent would open the shell without the variables.
  return new StateError(
    `workspace '${record.workspace_id}' runs an agent from an older pyro that cannot pass secret_env to a shell; reset the workspace to boot it with this version's agent`,
    { workspace_id: record.workspace_id, reason: "agent_too_old" },
  );
}

function openBody(input: OpenShellInput) {
  return {
    cwd: normalizeGuestPath(input.cwd ?? "/workspace", "cwd"),
    cols: checkIntRange("cols", input.cols ?? SHELL_DEFAULTS.cols, 1, MAX_DIMENSION),
    rows: checkIntRange("rows", input.rows ?? SHELL_DEFAULTS.rows, 1, MAX_DIMENSION),
  };
}

export async function readShell(
  context: ManagerContext,
  workspaceId: string,
  shellId: string,
  input: ReadShellInput = {},
) {
  const body = readBody(shellId, input);
  const options = readOptions(input);
  return redactingErrors(context, workspaceId, async () => {
    const record = await requireStarted(context, workspaceId, "shell_read");
    const redactor = await redactorFor(context, record.workspace_id);
    // Each page is redacted before idle batching and plain rendering see it, so a value split
    // across the pages of one batched read is still recognised (redacted-reads.ts).
    const read = async (request: typeof body) => {
      const page = await shellCall(context, record, "shell.read", request);
      return redactor ? redactShellRead(context, record, redactor, request, page) : page;
    };
    const result =
      options.idleMs === undefined
        ? await read(body)
        : await readUntilIdle(read, body, options.idleMs);
    return options.plain ? { ...result, output: plainText(result.output) } : result;
  });
}

type ShellPage = Awaited<ReturnType<typeof shellCall<"shell.read">>>;

/**
 * A shell read with the workspace's secrets redacted (redacted-reads.ts). When all the new
 * output is a held-back tail (a value being printed), a read that may wait waits for more
 * output after it, so a polling reader is not answered at once, with nothing, again and again.
 */
async function redactShellRead(
  context: ManagerContext,
  record: WorkspaceRecord,
  redactor: Redactor,
  body: ReturnType<typeof readBody>,
  first: ShellPage,
) {
  const deadline = Date.now() + (body.wait_seconds ?? 0) * 1000;
  let page = first;
  for (;;) {
    // The output just before the cursor, so a value begun on an earlier page is recognised.
    const start = lookBehindStart(redactor, body.cursor);
    const before =
      start < body.cursor && page.cursor === body.cursor
        ? await shellCall(context, record, "shell.read", {
            shell_id: body.shell_id,
            cursor: start,
            max_chars: body.cursor - start,
          })
        : null;
    const redacted = redactPage(
      redactor,
      body.cursor,
      page,
      before,
      page.state === "exited" && !page.truncated,
    );
    const held = redacted.next_cursor < page.next_cursor;
    const remaining = deadline - Date.now();
    // Only a live shell at the end of its output can wait for more.
    const ended = page.state === "exited" || page.truncated;
    if (redacted.output !== "" || !held || ended || remaining <= 0) {
      return { ...page, ...redacted, truncated: page.truncated || held };
    }
    await shellCall(context, record, "shell.read", {
      shell_id: body.shell_id,
      cursor: page.next_cursor,
      max_chars: 1,
      wait_seconds: remaining / 1000,
    });
    page = await shellCall(context, record, "shell.read", { ...body, wait_seconds: undefined });
  }
}
function readBody(shellId: string, input: ReadShellInput) {
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

export async function writeShell(
  context: ManagerContext,
  workspaceId: string,
  shellId: string,
  input: WriteShellInput,
) {
  const body = writeBody(shellId, input);
  const record = await requireStarted(context, workspaceId, "shell_write");
  return shellCall(context, record, "shell.write", body);
}

function writeBody(shellId: string, input: WriteShellInput) {
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

/**
 * Sets a shell's terminal size; the job in its foreground gets SIGWINCH, as from a resized
 * terminal window. An omitted dimension keeps its current value.
 */
export async function resizeShell(
  context: ManagerContext,
  workspaceId: string,
  shellId: string,
  input: ResizeShellInput = {},
) {
  const body = resizeBody(shellId, input);
  const record = await requireStarted(context, workspaceId, "shell_resize");
  return shellCall(context, record, "shell.resize", body);
}

function resizeBody(shellId: string, input: ResizeShellInput) {
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

/** `pyro run -it`: a terminal running `command` in a started one-shot VM. */
export async function openVmTerminal(
  context: ManagerContext,
  vmId: string,
  input: { command: string; cols?: number; rows?: number },
) {
  const body = { ...openBody(input), command: checkCommand(input.command) };
  return vmShellCall(context, vmId, "shell.open", body);
}

/** Reads a one-shot VM's terminal (see openVmTerminal). */
export function readVmTerminal(
  context: ManagerContext,
  vmId: string,
  shellId: string,
  input: ReadShellInput,
) {
  return vmShellCall(context, vmId, "shell.read", readBody(shellId, input));
}

export function writeVmTerminal(
  context: ManagerContext,
  vmId: string,
  shellId: string,
  input: WriteShellInput,
) {
  return vmShellCall(context, vmId, "shell.write", writeBody(shellId, input));
}

export function resizeVmTerminal(
  context: ManagerContext,
  vmId: string,
  shellId: string,
  input: ResizeShellInput,
) {
  return vmShellCall(context, vmId, "shell.resize", resizeBody(shellId, input));
}

async function vmShellCall<Op extends ShellOp>(
  context: ManagerContext,
  vmId: string,
  op: Op,
  body: AgentRequest<Op>,
): Promise<AgentResponse<Op>> {
  const record = await loadLiveVm(context, vmId);
  if (record.state !== "started" || !record.runtime) {
    throw new StateError(
      `vm '${record.vm_id}' must be started for a terminal; it is '${record.state}'`,
      {
        state: record.state,
      },
    );
  }
  return agentShellCall(context, record.runtime, op, body);
}

/** One shell request; an agent from before an op (shell.resize) gets a message that says so. */
async function agentShellCall<Op extends ShellOp>(
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
    const result: AgentResponse<Op> = await agentShellCall(context, runtime, op, body);
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
