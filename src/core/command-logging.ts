import { PyroError, StateError } from "../errors.js";
import type { AgentResponse } from "../protocol/operations.js";
import { LastCommandSchema, type RuntimeRecord, type WorkspaceRecord } from "../store/records.js";
import { appendCommand, readCommands } from "./command-log.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { commandPayload } from "./payloads.js";
import type { Redactor } from "../shared/redact.js";
import { updateWorkspace } from "./records-io.js";
import { redactorFor } from "./secrets.js";

/**
 * Puts every finished command of a sandbox in the command log exactly once: under the
 * workspace lock it claims the command from the agent, appends the entry and acknowledges
 * it with its sequence (see src/agent/command-table.ts). Any call that finds finished,
 * unlogged commands (a later exec, status, logs, any command_* call) logs them the same way,
 * so a command whose starter exited still lands in the log.
 */

export type CommandOutput = AgentResponse<"command.wait">;

/**
 * A command's answer with the workspace's secret values redacted from its command line and
 * output. Output of a running command (or cut by the agent's cap) may end inside a value:
 * that part is left out; a running command's buffer may also have dropped its head.
 */
export function redactAnswer<
  T extends {
    command: string;
    stdout: string;
    stderr: string;
    state: "running" | "exited";
    stdout_truncated: boolean;
    stderr_truncated: boolean;
  },
>(redactor: Redactor | null, answer: T): T {
  if (!redactor) return answer;
  const running = answer.state === "running";
  return {
    ...answer,
    command: redactor.redact(answer.command),
    stdout: redactor.redactSnapshot(answer.stdout, {
      headCut: running && answer.stdout_truncated,
      tailOpen: running,
    }),
    stderr: redactor.redactSnapshot(answer.stderr, {
      headCut: running && answer.stderr_truncated,
      tailOpen: running,
    }),
  };
}

export function execPayload(
  record: WorkspaceRecord,
  answer: CommandOutput,
  sequence: number | null,
) {
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
 * and returns `mine`'s sequence. `mine` is known to have ended; others are found by listing,
 * unless the agent said there are none (`othersUnlogged` 0, from command.run).
 */
export async function logFinished(
  context: ManagerContext,
  record: WorkspaceRecord,
  mine?: CommandOutput,
  othersUnlogged?: number,
): Promise<number | null> {
  const runtime = runtimeOf(record);
  const listed =
    mine && othersUnlogged === 0
      ? { commands: [] }
      : await context.pool.call(runtime, "command.list", {});
  const pending = listed.commands
    .filter((each) => each.state === "exited" && each.claim !== "logged")
    .sort((a, b) => (a.ended_at ?? 0) - (b.ended_at ?? 0))
    .map((each) => each.command_id);
  if (mine && !pending.includes(mine.command_id)) {
    if (mine.sequence !== null || mine.claim === "logged") return mine.sequence;
    pending.push(mine.command_id);
  }
  if (pending.length === 0) return mine?.sequence ?? null;
  // Entries are written from redacted output: no secret value reaches the log on disk.
  const redactor = await redactorFor(context, record.workspace_id);
  const { result } = await updateWorkspace(context.layout, record.workspace_id, async (current) => {
    const sequences = new Map<string, number | null>();
    for (const commandId of pending) {
      sequences.set(
        commandId,
        await logOne(context, runtime, record, current, commandId, redactor),
      );
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
  redactor: Redactor | null,
): Promise<number | null> {
  const claimed = redactAnswer(
    redactor,
    await context.pool.call(runtime, "command.claim", { command_id: commandId }),
  );
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
  current.last_command = LastCommandSchema().parse(entry);
  await context.pool.call(runtime, "command.ack", { command_id: commandId, sequence: next });
  return next;
}

/** The sequence of the log entry of `commandId`, or null (the rare path after a crash). */
async function findLogged(logFile: string, commandId: string): Promise<number | null> {
  const page = await readCommands(logFile, { tail: 64 });
  return page.entries.find((entry) => entry.command_id === commandId)?.sequence ?? null;
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

export function runtimeOf(record: WorkspaceRecord): RuntimeRecord {
  if (!record.runtime) throw new PyroError("internal", "a started workspace has no runtime");
  return record.runtime;
}

export function agentTooOld(record: WorkspaceRecord, what: string): StateError {
  return new StateError(
    `workspace '${record.workspace_id}' runs an agent from an older pyro that has no background commands (needed for ${what}); reset the workspace (\`pyro workspace reset ID\`) to boot it with this version's agent`,
    { workspace_id: record.workspace_id, reason: "agent_too_old" },
  );
}
