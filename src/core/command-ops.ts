import { PyroError } from "../errors.js";
import type { AgentResponse } from "../protocol/operations.js";
import { checkWaitSeconds } from "../shared/limits.js";
import type { WorkspaceRecord } from "../store/records.js";
import { readCommands } from "./command-log.js";
import {
  agentTooOld,
  execPayload,
  logFinished,
  runtimeOf,
  type CommandOutput,
} from "./command-logging.js";
import type { CommandCallOptions } from "./commands.js";
import type { ManagerContext } from "./context.js";
import { commandPayload } from "./payloads.js";
import { requireStarted } from "./workspace-ops.js";

/** The command_* operations: follow a command from any process (see commands.ts). */

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
