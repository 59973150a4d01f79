import { PyroError } from "../errors.js";
import type { AgentResponse } from "../protocol/operations.js";
import { checkWaitSeconds } from "../shared/limits.js";
import type { RuntimeRecord, WorkspaceRecord } from "../store/records.js";
import { readCommands } from "./command-log.js";
import {
  agentTooOld,
  execPayload,
  logFinished,
  redactAnswer,
  runtimeOf,
  type CommandOutput,
} from "./command-logging.js";
import type { CommandCallOptions } from "./commands.js";
import type { ManagerContext } from "./context.js";
import { commandPayload } from "./payloads.js";
import type { Redactor } from "../shared/redact.js";
import { lookBehindStart, redactPage } from "./redacted-reads.js";
import { redactorFor } from "./secrets.js";
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
  const redactor = await redactorFor(context, record.workspace_id);
  const commands = listed.commands
    .map((each) => info(redactor ? { ...each, command: redactor.redact(each.command) } : each))
    .sort((a, b) => a.started_at - b.started_at);
  return { workspace_id: record.workspace_id, count: commands.length, commands };
}

export async function statusCommand(context: ManagerContext, id: string, commandId: string) {
  const { record, runtime } = await commandSandbox(context, id, "command_status");
  await logFinished(context, record);
  const listed = await context.pool.call(runtime, "command.list", {});
  const found = listed.commands.find((each) => each.command_id === commandId);
  if (found) {
    const redactor = await redactorFor(context, record.workspace_id);
    const command = redactor ? redactor.redact(found.command) : found.command;
    return { workspace_id: record.workspace_id, ...info({ ...found, command }) };
  }
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
  return execPayload(
    record,
    redactAnswer(await redactorFor(context, record.workspace_id), answer),
    sequence,
  );
}

export async function killCommand(context: ManagerContext, id: string, commandId: string) {
  const { record, runtime } = await commandSandbox(context, id, "command_kill");
  const answer = await context.pool.call(runtime, "command.kill", { command_id: commandId });
  const sequence = answer.state === "exited" ? await logFinished(context, record, answer) : null;
  return execPayload(
    record,
    redactAnswer(await redactorFor(context, record.workspace_id), answer),
    sequence,
  );
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
  const read = (waitMs: number) =>
    context.pool.call(
      runtime,
      "command.read",
      {
        command_id: commandId,
        ...(input.stdout_cursor === undefined ? {} : { stdout_cursor: input.stdout_cursor }),
        ...(input.stderr_cursor === undefined ? {} : { stderr_cursor: input.stderr_cursor }),
        ...(input.max_chars === undefined ? {} : { max_chars: input.max_chars }),
        wait_ms: waitMs,
      },
      { signal: options.signal },
    );
  const deadline = Date.now() + waitSeconds * 1000;
  let answer = await read(Math.round(waitSeconds * 1000));
  const redactor = await redactorFor(context, record.workspace_id);
  for (;;) {
    const sequence = answer.state === "exited" ? await logFinished(context, record) : null;
    const result = {
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
    if (!redactor) return result;
    const redacted = await redactRead(context, runtime, commandId, redactor, result);
    const held =
      redacted.next_stdout_cursor < answer.next_stdout_cursor ||
      redacted.next_stderr_cursor < answer.next_stderr_cursor;
    const remaining = Math.round(deadline - Date.now());
    const ended = answer.state === "exited" || answer.truncated;
    if (redacted.stdout !== "" || redacted.stderr !== "" || !held || ended || remaining <= 0) {
      return redacted;
    }
    // All the new output is a held-back tail (a value being printed): a read that may wait
    // waits for output after it instead of answering nothing at once, again and again.
    await context.pool.call(
      runtime,
      "command.read",
      {
        command_id: commandId,
        stdout_cursor: answer.next_stdout_cursor,
        stderr_cursor: answer.next_stderr_cursor,
        max_chars: 1,
        wait_ms: remaining,
      },
      { signal: options.signal },
    );
    answer = await read(0);
  }
}

type CommandRead = AgentResponse<"command.read">;

/**
 * A command_read page redacted: each stream together with the output just before its
 * cursor (read again), holding back a tail that may begin a value (redacted-reads.ts).
 */
async function redactRead<
  T extends Pick<
    CommandRead,
    | "command"
    | "state"
    | "truncated"
    | "stdout"
    | "stderr"
    | "stdout_cursor"
    | "stderr_cursor"
    | "next_stdout_cursor"
    | "next_stderr_cursor"
  >,
>(
  context: ManagerContext,
  runtime: RuntimeRecord,
  commandId: string,
  redactor: Redactor,
  page: T & { stdout_dropped_chars: number; stderr_dropped_chars: number },
) {
  const requested = {
    stdout: page.stdout_cursor - page.stdout_dropped_chars,
    stderr: page.stderr_cursor - page.stderr_dropped_chars,
  };
  const starts = {
    stdout: lookBehindStart(redactor, requested.stdout),
    stderr: lookBehindStart(redactor, requested.stderr),
  };
  const needed = Math.max(requested.stdout - starts.stdout, requested.stderr - starts.stderr);
  const before =
    needed > 0
      ? await context.pool.call(runtime, "command.read", {
          command_id: commandId,
          stdout_cursor: starts.stdout,
          stderr_cursor: starts.stderr,
          max_chars: needed,
          wait_ms: 0,
        })
      : null;
  const final = page.state === "exited" && !page.truncated;
  const stream = (name: "stdout" | "stderr") =>
    redactPage(
      redactor,
      requested[name],
      {
        output: page[name],
        cursor: page[`${name}_cursor`],
        next_cursor: page[`next_${name}_cursor`],
      },
      before && starts[name] < requested[name]
        ? {
            output: before[name],
            cursor: before[`${name}_cursor`],
            next_cursor: before[`next_${name}_cursor`],
          }
        : null,
      final,
    );
  const out = stream("stdout");
  const err = stream("stderr");
  return {
    ...page,
    command: redactor.redact(page.command),
    stdout: out.output,
    stderr: err.output,
    next_stdout_cursor: out.next_cursor,
    next_stderr_cursor: err.next_cursor,
    truncated:
      page.truncated ||
      out.next_cursor < page.next_stdout_cursor ||
      err.next_cursor < page.next_stderr_cursor,
  };
}
