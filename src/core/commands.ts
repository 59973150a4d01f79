import { randomBytes } from "node:crypto";

import { PyroError } from "../errors.js";
import { normalizeGuestPath } from "../shared/guest-paths.js";
import {
  checkCommand,
  checkEnv,
  checkStdin,
  checkTimeout,
  checkWaitSeconds,
} from "../shared/limits.js";
import { LastCommandSchema, type WorkspaceRecord } from "../store/records.js";
import { appendCommand } from "./command-log.js";
import {
  agentTooOld,
  execPayload,
  logFinished,
  redactAnswer,
  runtimeOf,
  type CommandOutput,
} from "./command-logging.js";
import type { Redactor } from "../shared/redact.js";
import { redactingErrors, redactorFor, secretEnv } from "./secrets.js";
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
  /** {ENV_NAME: SECRET_NAME}: the workspace's secrets in the command's environment. */
  secret_env?: Record<string, string>;
}

/** How a front end follows one call: cancel it, see its output as it arrives. */
export interface CommandCallOptions {
  signal?: AbortSignal;
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
}

export function execWorkspace(
  context: ManagerContext,
  id: string,
  input: ExecWorkspaceInput,
  options: CommandCallOptions = {},
) {
  return redactingErrors(context, id, () => execRedacted(context, id, input, options));
}

async function execRedacted(
  context: ManagerContext,
  id: string,
  input: ExecWorkspaceInput,
  options: CommandCallOptions,
) {
  const command = checkCommand(input.command);
  const timeout = checkTimeout(input.timeout_seconds ?? 30);
  const cwd = normalizeGuestPath(input.cwd ?? "/workspace", "cwd");
  const waitSeconds = checkWaitSeconds(input.wait_seconds);
  const stdin = input.stdin === undefined ? undefined : checkStdin(input.stdin);
  const checkedEnv = checkEnv(input.env);
  const record = await requireStarted(context, id, "workspace_exec");
  const env = await secretEnv(context, record, input.secret_env, checkedEnv);
  const redactor = await redactorFor(context, record.workspace_id);
  const runtime = runtimeOf(record);
  if (!(await context.pool.supports(runtime, "command.run"))) {
    if (waitSeconds !== undefined || stdin !== undefined) {
      throw agentTooOld(record, waitSeconds !== undefined ? "wait_seconds" : "stdin");
    }
    return legacyExec(context, record, { command, cwd, timeout, env }, redactor);
  }
  const commandId = newCommandId();
  // Streamed chunks pass through one redacting stream per output stream, which holds back
  // a tail that may be the start of a value until the next chunk (or the end) decides it.
  const onOutput = options.onOutput && redactedOutput(options.onOutput, redactor);
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
    { signal: options.signal, onData: onOutput && streamDecoder(onOutput.write) },
  );
  onOutput?.end();
  return settle(context, record, redactAnswer(redactor, answer), options.signal);
}

/** Wraps a front end's onOutput so every chunk is redacted on its way; end() flushes. */
function redactedOutput(
  onOutput: NonNullable<CommandCallOptions["onOutput"]>,
  redactor: Redactor | null,
): { write: NonNullable<CommandCallOptions["onOutput"]>; end: () => void } {
  if (!redactor) return { write: onOutput, end: () => undefined };
  const streams = { stdout: redactor.byteStream(), stderr: redactor.byteStream() };
  return {
    write: (stream, chunk) => {
      const out = streams[stream].write(chunk);
      if (out.length > 0) onOutput(stream, out);
    },
    end: () => {
      for (const stream of ["stdout", "stderr"] as const) {
        const out = streams[stream].end();
        if (out.length > 0) onOutput(stream, out);
      }
    },
  };
}

/**
 * The exec result for a command's answer: logged first when it ended (then, if its caller
 * cancelled it, a `cancelled` error carrying its command_id and sequence).
 */
async function settle(
  context: ManagerContext,
  record: WorkspaceRecord,
  answer: CommandOutput & { others_unlogged?: number },
  signal?: AbortSignal,
) {
  const sequence =
    answer.state === "exited"
      ? await logFinished(context, record, answer, answer.others_unlogged)
      : null;
  if (answer.cancelled && signal?.aborted) {
    throw new PyroError(
      "cancelled",
      `the command was cancelled; it was killed and logged with exit_code ${answer.exit_code} and cancelled: true`,
      { command_id: answer.command_id, sequence, exit_code: answer.exit_code },
    );
  }
  return execPayload(record, answer, sequence);
}

/** The exec path for an agent started by a pyro without `command.run` (no streaming). */
async function legacyExec(
  context: ManagerContext,
  record: WorkspaceRecord,
  input: { command: string; cwd: string; timeout: number; env?: Record<string, string> },
  redactor: Redactor | null,
) {
  const startedAt = nowSeconds();
  const raw = await context.pool.call(runtimeOf(record), "exec", {
    command: input.command,
    cwd: input.cwd,
    timeout_seconds: input.timeout,
    ...(input.env ? { env: input.env } : {}),
  });
  const result = redactAnswer(redactor, { ...raw, command: input.command, state: "exited" });
  const finishedAt = nowSeconds();
  const { record: updated, result: sequence } = await updateWorkspace(
    context.layout,
    record.workspace_id,
    async (current) => {
      if (current.reset_count !== record.reset_count) return null;
      const next = current.command_count + 1;
      const entry = {
        sequence: next,
        command: result.command,
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
      current.last_command = LastCommandSchema().parse(entry);
      return next;
    },
  );
  return {
    workspace_id: updated.workspace_id,
    sequence,
    cwd: input.cwd,
    ...commandPayload(result.command, result, updated.execution_mode),
    command_id: null,
    state: "exited" as const,
    cancelled: false,
  };
}

function newCommandId(): string {
  return `cmd-${randomBytes(6).toString("hex")}`;
}

/** Splits the agent's tagged data frames (1 stdout, 2 stderr) for the caller. */
function streamDecoder(onOutput: NonNullable<CommandCallOptions["onOutput"]>) {
  return (frame: Buffer): void => {
    if (frame.length < 2) return;
    onOutput(frame[0] === 2 ? "stderr" : "stdout", frame.subarray(1));
  };
}
