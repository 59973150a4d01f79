/**
 * Manager side of persistent shells. The shells themselves live in the sandbox's agent
 * (src/agent/shells.ts), which is what lets any process use a shell another opened; this
 * module checks the workspace is running and forwards the requests shell-requests.ts
 * builds. Nothing about a shell is stored on the host. One-shot VM terminals (`pyro run
 * -it`) are in vm-terminals.ts.
 */
import { SHELL_SIGNALS, isShellSignal } from "../shared/shell-signals.js";
import { NotFoundError, PyroError, StateError, ValidationError } from "../errors.js";
import type { AgentRequest, AgentResponse } from "../protocol/operations.js";
import type { WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import {
  agentShellCall,
  checkShellId,
  openBody,
  readBody,
  resizeBody,
  writeBody,
  type OpenShellInput,
  type ReadShellInput,
  type ResizeShellInput,
  type ShellOp,
  type SignalShellInput,
  type WriteShellInput,
} from "./shell-requests.js";
import { lookBehindStart, redactPage } from "./redacted-reads.js";
import type { Redactor } from "../shared/redact.js";
import { redactingErrors, redactorFor, secretEnv } from "./secrets.js";
import { requireStarted } from "./workspace-ops.js";
import { plainText } from "../shared/plain-text.js";
import { readOptions, readUntilIdle } from "./shell-idle.js";

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

export async function signalShell(
  context: ManagerContext,
  workspaceId: string,
  shellId: string,
  input: SignalShellInput = {},
) {
  const raw: unknown = input.signal ?? "INT";
  const signal = typeof raw === "string" ? raw.toUpperCase().replace(/^SIG/, "") : raw;
  if (typeof signal !== "string" || !isShellSignal(signal)) {
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

export type {
  OpenShellInput,
  ReadShellInput,
  ResizeShellInput,
  SignalShellInput,
  WriteShellInput,
} from "./shell-requests.js";
