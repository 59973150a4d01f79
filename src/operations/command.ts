import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { commandOutput, withNewline } from "./results.js";
import { LIMITS } from "../shared/limits.js";
import { intAtLeast, intBetween, numberBetween } from "./rules.js";

/** Most characters one read returns (the agent's limit). */
export const MAX_READ_CHARS = 1024 * 1024;

/**
 * Long commands: workspace_exec with wait_seconds yields a command to the background, and
 * these operations follow it from any process (docs/mcp.md, "Long commands").
 */
const commandId = lazy(() => z.string());

const commandState = lazy(() =>
  z
    .enum(["running", "exited"])
    .describe("running: still going (poll it); exited: finished, in the command log."),
);

/** A command without its output. */
const commandInfo = lazy(() =>
  z.object({
    command_id: z.string(),
    command: z.string(),
    cwd: z.string(),
    state: commandState(),
    started_at: z.number(),
    ended_at: z.number().nullable(),
    exit_code: z.number().int().nullable().describe("null while running; 130 when cancelled."),
    cancelled: z.boolean().describe("Killed by command_kill or because its caller went away."),
    timed_out: z.boolean(),
    sequence: z
      .number()
      .int()
      .nullable()
      .describe("Position in the command log once logged; null while running."),
  }),
);

/** workspace_exec's result, also what command_wait and command_kill return. */
export const execResult = lazy(() =>
  z.object({
    workspace_id: z.string(),
    sequence: z
      .number()
      .int()
      .nullable()
      .describe(
        "Position in the command log; null while running or if a reset replaced the history meanwhile.",
      ),
    cwd: z.string(),
    ...commandOutput(),
    exit_code: z
      .number()
      .int()
      .nullable()
      .describe(
        "The command's exit status; 124 when it timed out, 130 when cancelled, null while running.",
      ),
    command_id: z
      .string()
      .nullable()
      .describe(
        "Id for command_status/read/wait/kill (null only from a sandbox started by an older pyro).",
      ),
    state: commandState(),
    cancelled: z.boolean(),
  }),
);

export function renderExec(result: z.output<ReturnType<typeof execResult>>): string {
  const parts: string[] = [];
  if (result.stdout) parts.push(withNewline(result.stdout));
  if (result.stderr) parts.push(`[stderr]\n${withNewline(result.stderr)}`);
  if (result.state === "running") {
    parts.push(
      `still running after ${Math.round(result.duration_ms / 1000)} s as command ${result.command_id}: poll it with command_read or command_wait`,
    );
    return parts.join("");
  }
  const notes = `${result.timed_out ? ", timed out" : ""}${result.cancelled ? ", cancelled" : ""}`;
  parts.push(`exit_code ${result.exit_code} (${Math.round(result.duration_ms)} ms${notes})`);
  return parts.join("");
}

const waitSeconds = lazy(() =>
  numberBetween(0, LIMITS.timeoutSeconds.max)
    .default(0)
    .describe("Seconds to wait for the command to end (0: answer at once)."),
);

export const commandOperations = [
  defineOperation({
    name: "command_status",
    method: "statusCommand",
    title: "Command status",
    effect: "read",
    description: "A command's state and exit_code, without its output.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id, command_id: commandId() }),
    output: () => commandInfo().extend({ workspace_id: z.string() }),
    handler: (manager, input) => manager.statusCommand(input.workspace_id, input.command_id),
    render: (result) =>
      result.state === "running"
        ? `command ${result.command_id} running`
        : `command ${result.command_id} exited ${result.exit_code}${result.cancelled ? " (cancelled)" : ""}`,
  }),
  defineOperation({
    name: "command_read",
    method: "readCommand",
    title: "Read command output",
    effect: "read",
    description:
      "Read a command's output from cursors (pass the next_* cursors back). wait_seconds waits for output or the end.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        command_id: commandId(),
        stdout_cursor: intAtLeast(0).default(0).describe("Absolute stdout offset."),
        stderr_cursor: intAtLeast(0).default(0).describe("Absolute stderr offset."),
        max_chars: intBetween(1, MAX_READ_CHARS).default(65_536),
        wait_seconds: numberBetween(0, LIMITS.timeoutSeconds.max)
          .default(0)
          .describe("Block up to this long for new output or the end."),
      }),
    output: () =>
      commandInfo().extend({
        workspace_id: z.string(),
        stdout: z.string(),
        stderr: z.string(),
        stdout_cursor: z
          .number()
          .int()
          .describe("Where stdout starts (later than asked if dropped)."),
        stderr_cursor: z.number().int(),
        next_stdout_cursor: z.number().int().describe("Pass as stdout_cursor to the next read."),
        next_stderr_cursor: z.number().int().describe("Pass as stderr_cursor to the next read."),
        stdout_dropped_chars: z
          .number()
          .int()
          .describe("Output older than the kept 256 Ki characters, skipped."),
        stderr_dropped_chars: z.number().int(),
        truncated: z.boolean().describe("More output waits after the next cursors."),
      }),
    handler: (manager, { workspace_id, command_id, ...input }, context) =>
      manager.readCommand(workspace_id, command_id, input, { signal: context.signal }),
    render: (result) =>
      `${result.stdout ? withNewline(result.stdout) : ""}${result.stderr ? `[stderr]\n${withNewline(result.stderr)}` : ""}(${result.state}; next stdout_cursor ${result.next_stdout_cursor}, stderr_cursor ${result.next_stderr_cursor})`,
  }),
  defineOperation({
    name: "command_wait",
    method: "waitCommand",
    title: "Wait for command",
    effect: "read",
    description:
      "Wait up to wait_seconds for a command to end; then returns what workspace_exec returns.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        command_id: commandId(),
        wait_seconds: waitSeconds(),
      }),
    output: () => execResult(),
    handler: (manager, { workspace_id, command_id, ...input }, context) =>
      manager.waitCommand(workspace_id, command_id, input, { signal: context.signal }),
    render: renderExec,
  }),
  defineOperation({
    name: "command_kill",
    method: "killCommand",
    title: "Kill command",
    effect: "destructive",
    idempotent: true,
    description: "Kill a command and everything it started (logged with exit_code 130, cancelled).",
    input: () => z.strictObject({ workspace_id: fields.workspace_id, command_id: commandId() }),
    output: () => execResult(),
    handler: (manager, input) => manager.killCommand(input.workspace_id, input.command_id),
    render: renderExec,
  }),
  defineOperation({
    name: "command_list",
    method: "listCommands",
    title: "List commands",
    effect: "read",
    description:
      "List the workspace's recent commands (running ones and the last finished ones), oldest first.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () =>
      z.object({
        workspace_id: z.string(),
        count: z.number().int(),
        commands: z.array(commandInfo()),
      }),
    handler: (manager, input) => manager.listCommands(input.workspace_id),
    render: (result) =>
      result.commands.length === 0
        ? "no commands"
        : result.commands
            .map(
              (each) =>
                `${each.command_id}  ${each.state.padEnd(7)} ${each.exit_code ?? "-"}  ${each.command}`,
            )
            .join("\n"),
  }),
];
