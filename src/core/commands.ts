import { randomBytes } from "node:crypto";

import { PyroError, StateError } from "../errors.js";
import type { AgentResponse } from "../protocol/operations.js";
import { normalizeGuestPath } from "../shared/guest-paths.js";
import {
  checkCommand,
  checkEnv,
  checkStdin,
  checkTimeout,
  checkWaitSeconds,
} from "../shared/limits.js";
import { LastCommandSchema, type RuntimeRecord, type WorkspaceRecord } from "../store/records.js";
import { appendCommand, readCommands } from "./command-log.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { commandPayload } from "./payloads.js";
import { updateWorkspace } from "./records-io.js";
import { requireStarted } from "./workspace-ops.js";

/**
 * workspace_exec and the command_* operations on the host side. A command runs in the
 * sandbox's agent (src/agent/commands.ts), which owns it; this side starts it, streams its
 * output, cancels it when the caller goes away, and puts every finished command in the
 * command log exactly once: under the workspace lock it claims the command from the agent,
 * appends the entry and acknowledges it with its sequence (see src/agent/command-table.ts).
 * Any call that finds finished, unlogged commands (a later exec, status, logs, any command_*
 * call) logs them the same way, so a command whose starter exited still lands in the log.
 */

export interface ExecWorkspaceInput {
  command: string;
  timeout_seconds?: number;
  cwd?: string;
  /** Return after this long with state "running" if the command has not ended. */
  wait_seconds?: number;
  stdin?: string;
  env?: Record<string, string>;
}

/** How a front end follows one call: cancel it, see its output as it arrives. */
export interface CommandCallOptions {
  signal?: AbortSignal;
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
}

type CommandOutput = AgentResponse<"command.wait">;

export async function execWorkspace(
  context: ManagerContext,
  id: string,
  input: ExecWorkspaceInput,
  options: CommandCallOptions = {},
) {
  const command = checkCommand(input.command);
  const timeout = checkTimeout(input.timeout_seconds ?? 30);
  const cwd = normalizeGuestPath(input.cwd ?? "/workspace", "cwd");
  const waitSeconds = checkWaitSeconds(input.wait_seconds);
  const stdin = input.stdin === undefined ? undefined : checkStdin(input.stdin);
  const env = checkEnv(input.env);
  const record = await requireStarted(context, id, "workspace_exec");
  const runtime = runtimeOf(record);
  if (!(await context.pool.supports(runtime, "command.run"))) {
    if (waitSeconds !== undefined || stdin !== undefined) {
      throw agentTooOld(record, waitSeconds !== undefined ? "wait_seconds" : "stdin");
    }
    return legacyExec(context, record, { command, cwd, timeout, env });
  }
  options.signal?.throwIfAborted();
  const commandId = newCommandId();
  const answer = await context.pool.call(
    runtime,
    "command.run",
    {
      command_id: commandId,
      command,
      cwd,
      timeout_seconds: timeout,
      ...(env ? { env } : {}),
      ...(stdin === undefined ? {} : { stdin }),
      ...(waitSeconds === undefined ? {} : { wait_ms: Math.round(waitSeconds * 1000) }),
      stream: options.onOutput !== undefined,
    },
    { signal: options.signal, onData: options.onOutput && streamDecoder(options.onOutput) },
  );
  return settle(context, record, answer, options.signal);
}

/**
 * The exec result for a command's answer: logged first when it ended (then, if its caller
 * cancelled it, a `cancelled` error carrying its command_id and sequence).
 */
async function settle(
  context: ManagerContext,
  record: WorkspaceRecord,
  answer: CommandOutput,
  signal?: AbortSignal,
) {
  const sequence = answer.state === "exited" ? await logFinished(context, record, answer) : null;
  if (answer.cancelled && signal?.aborted) {
    throw new PyroError(
      "cancelled",
      `the command was cancelled; it was killed and logged with exit_code ${answer.exit_code} and cancelled: true`,
      { command_id: answer.command_id, sequence, exit_code: answer.exit_code },
    );
  }
  return execPayload(record, answer, sequence);
}

function execPayload(record: WorkspaceRecord, answer: CommandOutput, sequence: number | null) {
  return {
    workspace_id: record.workspace_id,
    sequence,
    cwd: answer.cwd,
    ...commandPayload(
      answer.command,
      { ...answer, exit_code: answer.exit_code ?? 0, timed_out: answer.timed_out },
      record.execution_mode,
    ),
    exit_code: answer.exit_code,
    command_id: answer.command_id,
    state: answer.state,
    cancelled: answer.cancelled,
  };
}

/**
 * Logs every finished command the agent holds that is not in the log yet (oldest first)
 * and returns `mine`'s sequence. `mine` is known to have ended; others are found by listing.
 */
async function logFinished(
  context: ManagerContext,
  record: WorkspaceRecord,
  mine?: CommandOutput,
): Promise<number | null> {
  const runtime = runtimeOf(record);
  const listed = await context.pool.call(runtime, "command.list", {});
  const pending = listed.commands
    .filter((each) => each.state === "exited" && each.claim !== "logged")
    .sort((a, b) => (a.ended_at ?? 0) - (b.ended_at ?? 0))
    .map((each) => each.command_id);
  if (mine && !pending.includes(mine.command_id)) {
    if (mine.sequence !== null || mine.claim === "logged") return mine.sequence;
    pending.push(mine.command_id);
  }
  if (pending.length === 0) return mine?.sequence ?? null;
  const { result } = await updateWorkspace(context.layout, record.workspace_id, async (current) => {
    const sequences = new Map<string, number | null>();
    for (const commandId of pending) {
      sequences.set(commandId, await logOne(context, runtime, record, current, commandId));
    }
    return mine ? (sequences.get(mine.command_id) ?? null) : null;
  });
  return result;
}

/** Claims, appends and acknowledges one finished command; call under the workspace lock. */
async function logOne(
  context: ManagerContext,
  runtime: RuntimeRecord,
  record: WorkspaceRecord,
  current: WorkspaceRecord,
  commandId: string,
): Promise<number | null> {
  const claimed = await context.pool.call(runtime, "command.claim", { command_id: commandId });
  if (claimed.claim_state === "logged") return claimed.sequence;
  // A reset in the meantime started a new history (and a new agent): not ours to log.
  if (current.reset_count !== record.reset_count) return null;
  const logFile = context.layout.commandLog(record.workspace_id);
  if (claimed.claim_state === "stale") {
    // Claimed by a process that died before acknowledging: it may have appended already.
    const found = await findLogged(logFile, commandId);
    if (found !== null) {
      await context.pool.call(runtime, "command.ack", { command_id: commandId, sequence: found });
      return found;
    }
  }
  const next = current.command_count + 1;
  const finishedAt = claimed.ended_at ?? nowSeconds();
  const entry = {
    sequence: next,
    command: claimed.command,
    cwd: claimed.cwd,
    exit_code: claimed.exit_code ?? 1,
    stdout: claimed.stdout,
    stderr: claimed.stderr,
    duration_ms: claimed.duration_ms,
    started_at: claimed.started_at,
    finished_at: finishedAt,
    timed_out: claimed.timed_out,
    stdout_truncated: claimed.stdout_truncated,
    stderr_truncated: claimed.stderr_truncated,
    command_id: commandId,
    cancelled: claimed.cancelled,
  };
  await appendCommand(logFile, entry);
  current.command_count = next;
  // The record keeps the entry without its output (the schema strips the rest).
  current.last_command = LastCommandSchema.parse(entry);
  await context.pool.call(runtime, "command.ack", { command_id: commandId, sequence: next });
  return next;
}

/** The sequence of the log entry of `commandId`, or null (the rare path after a crash). */
async function findLogged(logFile: string, commandId: string): Promise<number | null> {
  const page = await readCommands(logFile, { tail: 64 });
  return page.entries.find((entry) => entry.command_id === commandId)?.sequence ?? null;
}

/** The exec path for an agent started by a pyro without `command.run` (no streaming). */
async function legacyExec(
  context: ManagerContext,
  record: WorkspaceRecord,
  input: { command: string; cwd: string; timeout: number; env?: Record<string, string> },
) {
  const startedAt = nowSeconds();
  const result = await context.pool.call(runtimeOf(record), "exec", {
    command: input.command,
    cwd: input.cwd,
    timeout_seconds: input.timeout,
    ...(input.env ? { env: input.env } : {}),
  });
  const finishedAt = nowSeconds();
  const { record: updated, result: sequence } = await updateWorkspace(
    context.layout,
    record.workspace_id,
    async (current) => {
      if (current.reset_count !== record.reset_count) return null;
      const next = current.command_count + 1;
      const entry = {
        sequence: next,
        command: input.command,
        cwd: input.cwd,
        exit_code: result.exit_code,
        stdout: result.stdout,
        stderr: result.stderr,
        duration_ms: result.duration_ms,
        started_at: startedAt,
        finished_at: finishedAt,
        timed_out: result.timed_out,
        stdout_truncated: result.stdout_truncated,
        stderr_truncated: result.stderr_truncated,
      };
      await appendCommand(context.layout.commandLog(record.workspace_id), entry);
      current.command_count = next;
      current.last_command = LastCommandSchema.parse(entry);
      return next;
    },
  );
  return {
    workspace_id: updated.workspace_id,
    sequence,
    cwd: input.cwd,
    ...commandPayload(input.command, result, updated.execution_mode),
    command_id: null,
    state: "exited" as const,
    cancelled: false,
  };
}

// ---- the command_* operations ----------------------------------------------------------

/** The agent of a started workspace that serves commands, and the record. */
async function commandSandbox(context: ManagerContext, id: string, operation: string) {
  const record = await requireStarted(context, id, operation);
  const runtime = runtimeOf(record);
  if (!(await context.pool.supports(runtime, "command.list"))) {
    throw agentTooOld(record, operation);
  }
  return { record, runtime };
}

/** A command the agent no longer holds may still be in the log (it forgets old ones). */
async function fromLog(context: ManagerContext, record: WorkspaceRecord, commandId: string) {
  const page = await readCommands(context.layout.commandLog(record.workspace_id));
  const entry = page.entries.find((each) => each.command_id === commandId);
  if (!entry) {
    throw new PyroError(
      "not_found",
      `command '${commandId}' does not exist in workspace '${record.workspace_id}'`,
      { workspace_id: record.workspace_id, command_id: commandId },
    );
  }
  return entry;
}

function isNotFound(error: unknown): boolean {
  return error instanceof PyroError && error.code === "not_found";
}

export interface CommandInfo {
  command_id: string;
  command: string;
  cwd: string;
  state: "running" | "exited";
  started_at: number;
  ended_at: number | null;
  exit_code: number | null;
  cancelled: boolean;
  timed_out: boolean;
  sequence: number | null;
}

function info(answer: AgentResponse<"command.list">["commands"][number]): CommandInfo {
  return {
    command_id: answer.command_id,
    command: answer.command,
    cwd: answer.cwd,
    state: answer.state,
    started_at: answer.started_at,
    ended_at: answer.ended_at,
    exit_code: answer.exit_code,
    cancelled: answer.cancelled,
    timed_out: answer.timed_out,
    sequence: answer.sequence,
  };
}

export async function listCommands(context: ManagerContext, id: string) {
  const { record, runtime } = await commandSandbox(context, id, "command_list");
  await logFinished(context, record);
  const listed = await context.pool.call(runtime, "command.list", {});
  const commands = listed.commands.map(info).sort((a, b) => a.started_at - b.started_at);
  return { workspace_id: record.workspace_id, count: commands.length, commands };
}

export async function statusCommand(context: ManagerContext, id: string, commandId: string) {
  const { record, runtime } = await commandSandbox(context, id, "command_status");
  await logFinished(context, record);
  const listed = await context.pool.call(runtime, "command.list", {});
  const found = listed.commands.find((each) => each.command_id === commandId);
  if (found) return { workspace_id: record.workspace_id, ...info(found) };
  const entry = await fromLog(context, record, commandId);
  return {
    workspace_id: record.workspace_id,
    command_id: commandId,
    command: entry.command,
    cwd: entry.cwd,
    state: "exited" as const,
    started_at: entry.started_at,
    ended_at: entry.finished_at,
    exit_code: entry.exit_code,
    cancelled: entry.cancelled ?? false,
    timed_out: entry.timed_out,
    sequence: entry.sequence,
  };
}

export async function waitCommand(
  context: ManagerContext,
  id: string,
  commandId: string,
  input: { wait_seconds?: number },
  options: CommandCallOptions = {},
) {
  const waitSeconds = checkWaitSeconds(input.wait_seconds) ?? 0;
  const { record, runtime } = await commandSandbox(context, id, "command_wait");
  let answer: CommandOutput;
  try {
    answer = await context.pool.call(
      runtime,
      "command.wait",
      { command_id: commandId, wait_ms: Math.round(waitSeconds * 1000) },
      { signal: options.signal },
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const entry = await fromLog(context, record, commandId);
    return {
      workspace_id: record.workspace_id,
      sequence: entry.sequence,
      cwd: entry.cwd,
      ...commandPayload(
        entry.command,
        {
          ...entry,
          stdout_truncated: entry.stdout_truncated ?? false,
          stderr_truncated: entry.stderr_truncated ?? false,
        },
        record.execution_mode,
      ),
      command_id: commandId,
      state: "exited" as const,
      cancelled: entry.cancelled ?? false,
    };
  }
  const sequence = answer.state === "exited" ? await logFinished(context, record, answer) : null;
  return execPayload(record, answer, sequence);
}

export async function killCommand(context: ManagerContext, id: string, commandId: string) {
  const { record, runtime } = await commandSandbox(context, id, "command_kill");
  const answer = await context.pool.call(runtime, "command.kill", { command_id: commandId });
  const sequence = answer.state === "exited" ? await logFinished(context, record, answer) : null;
  return execPayload(record, answer, sequence);
}

export interface ReadCommandInput {
  stdout_cursor?: number;
  stderr_cursor?: number;
  max_chars?: number;
  wait_seconds?: number;
}

export async function readCommand(
  context: ManagerContext,
  id: string,
  commandId: string,
  input: ReadCommandInput,
  options: CommandCallOptions = {},
) {
  const waitSeconds = checkWaitSeconds(input.wait_seconds) ?? 0;
  const { record, runtime } = await commandSandbox(context, id, "command_read");
  const answer = await context.pool.call(
    runtime,
    "command.read",
    {
      command_id: commandId,
      ...(input.stdout_cursor === undefined ? {} : { stdout_cursor: input.stdout_cursor }),
      ...(input.stderr_cursor === undefined ? {} : { stderr_cursor: input.stderr_cursor }),
      ...(input.max_chars === undefined ? {} : { max_chars: input.max_chars }),
      wait_ms: Math.round(waitSeconds * 1000),
    },
    { signal: options.signal },
  );
  const sequence = answer.state === "exited" ? await logFinished(context, record) : null;
  return {
    workspace_id: record.workspace_id,
    ...info(answer),
    sequence: answer.sequence ?? sequence,
    stdout: answer.stdout,
    stderr: answer.stderr,
    stdout_cursor: answer.stdout_cursor,
    stderr_cursor: answer.stderr_cursor,
    next_stdout_cursor: answer.next_stdout_cursor,
    next_stderr_cursor: answer.next_stderr_cursor,
    stdout_dropped_chars: answer.stdout_dropped_chars,
    stderr_dropped_chars: answer.stderr_dropped_chars,
    truncated: answer.truncated,
  };
}

/**
 * Logs what finished in the background before a status or logs call reads the record:
 * one cheap `command.list`, the lock only when there is something to log.
 */
export async function collectFinished(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<boolean> {
  if (record.state !== "started" || !record.runtime) return false;
  if (!(await context.pool.supports(record.runtime, "command.list"))) return false;
  const listed = await context.pool.call(record.runtime, "command.list", {});
  if (!listed.commands.some((each) => each.state === "exited" && each.claim !== "logged")) {
    return false;
  }
  await logFinished(context, record);
  return true;
}

function runtimeOf(record: WorkspaceRecord): RuntimeRecord {
  if (!record.runtime) throw new PyroError("internal", "a started workspace has no runtime");
  return record.runtime;
}

function newCommandId(): string {
  return `cmd-${randomBytes(6).toString("hex")}`;
}

function agentTooOld(record: WorkspaceRecord, what: string): StateError {
  return new StateError(
    `workspace '${record.workspace_id}' runs an agent from an older pyro that has no background commands (needed for ${what}); reset the workspace (\`pyro workspace reset ID\`) to boot it with this version's agent`,
    { workspace_id: record.workspace_id, reason: "agent_too_old" },
  );
}

/** Splits the agent's tagged data frames (1 stdout, 2 stderr) for the caller. */
function streamDecoder(onOutput: NonNullable<CommandCallOptions["onOutput"]>) {
  return (frame: Buffer): void => {
    if (frame.length < 2) return;
    onOutput(frame[0] === 2 ? "stderr" : "stdout", frame.subarray(1));
  };
}
