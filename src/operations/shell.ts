import { z } from "zod";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { renderShell, shellResult, withNewline } from "./results.js";

const shellId = z.string().describe("Shell id returned by shell_open.");

export const shellOperations = [
  defineOperation({
    name: "shell_open",
    method: "openShell",
    description:
      "Open a persistent PTY shell (bash) in a started workspace (default cwd /workspace, 120x30). Returns shell_id; any process can then write to and read from it.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      cwd: z.string().describe("Directory under /workspace (default /workspace).").optional(),
      cols: z.number().int().describe("Terminal columns (default 120).").optional(),
      rows: z.number().int().describe("Terminal rows (default 30).").optional(),
      secret_env: fields.secret_env,
    }),
    output: shellResult,
    handler: (manager, { workspace_id, ...input }) => manager.openShell(workspace_id, input),
    render: renderShell,
  }),
  defineOperation({
    name: "shell_read",
    method: "readShell",
    description:
      "Read a shell's output from a cursor (default 0). Returns output and next_cursor: pass next_cursor to the next read to get only new output. With wait_seconds, a read with no new output waits up to that long for some (or for the shell to exit). For a model: plain: true and wait_for_idle_ms: 300 return a command's whole output as readable text.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      shell_id: shellId,
      cursor: z.number().int().describe("Absolute output offset (default 0).").optional(),
      max_chars: z.number().int().describe("Most characters to return (default 65536).").optional(),
      wait_seconds: z
        .number()
        .describe(
          "With no output past cursor yet, wait up to this many seconds (0-30, default 0) for some or for the shell to exit.",
        )
        .optional(),
      plain: z
        .boolean()
        .describe(
          "Return output as plain text: escape and control sequences removed, carriage-return overwrites and backspaces applied (default false). Cursors stay raw output offsets.",
        )
        .optional(),
      wait_for_idle_ms: z
        .number()
        .int()
        .describe(
          "Keep reading until no new output came for this many milliseconds (1-10000), the shell exits or max_chars is reached; bounded by wait_seconds, else 10 s. 300 suits a command just typed.",
        )
        .optional(),
    }),
    output: shellResult.extend({
      output: z.string(),
      cursor: z.number().int().describe("Where output starts (later than asked if dropped)."),
      next_cursor: z.number().int().describe("Pass as cursor to the next read."),
      truncated: z.boolean().describe("More output waits after next_cursor."),
      dropped_chars: z.number().int(),
      buffer_start: z.number().int(),
      buffer_end: z.number().int(),
    }),
    handler: (manager, { workspace_id, shell_id, ...input }) =>
      manager.readShell(workspace_id, shell_id, input),
    render: renderShellRead,
  }),
  defineOperation({
    name: "shell_write",
    method: "writeShell",
    description:
      "Type input into a running shell, followed by a newline unless append_newline is false. Read the output with shell_read.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      shell_id: shellId,
      input: z.string().describe("Text to type."),
      append_newline: z.boolean().describe("Append a newline (default true).").optional(),
    }),
    output: shellResult.extend({ input_length: z.number().int(), append_newline: z.boolean() }),
    handler: (manager, { workspace_id, shell_id, ...input }) =>
      manager.writeShell(workspace_id, shell_id, input),
    render: (result) => `wrote ${result.input_length} characters to shell ${result.shell_id}`,
  }),
  defineOperation({
    name: "shell_signal",
    method: "signalShell",
    description:
      "Send HUP, INT (default, like Ctrl-C), TERM or KILL to the shell's foreground job, e.g. to stop a command that does not finish.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      shell_id: shellId,
      signal: z.enum(["HUP", "INT", "TERM", "KILL"]).describe("Signal (default INT).").optional(),
    }),
    output: shellResult.extend({
      signal: z.enum(["HUP", "INT", "TERM", "KILL"]),
      target_pgid: z.number().int().describe("The process group that received the signal."),
    }),
    handler: (manager, { workspace_id, shell_id, ...input }) =>
      manager.signalShell(workspace_id, shell_id, input),
    render: (result) => `sent ${result.signal} to shell ${result.shell_id}`,
  }),
  defineOperation({
    name: "shell_close",
    method: "closeShell",
    description: "Close a shell and end everything started in it. Returns {closed: true}.",
    input: z.strictObject({ workspace_id: fields.workspace_id, shell_id: shellId }),
    output: z.object({ workspace_id: z.string(), shell_id: z.string(), closed: z.boolean() }),
    handler: (manager, input) => manager.closeShell(input.workspace_id, input.shell_id),
    render: (result) => `closed shell ${result.shell_id}`,
  }),
  defineOperation({
    name: "shell_resize",
    method: "resizeShell",
    description:
      "Set a shell's terminal size (columns and rows; an omitted one is kept). The job in its foreground gets SIGWINCH, as from a resized terminal window.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      shell_id: shellId,
      cols: z.number().int().describe("Terminal columns (1-1000).").optional(),
      rows: z.number().int().describe("Terminal rows (1-1000).").optional(),
    }),
    output: shellResult,
    handler: (manager, { workspace_id, shell_id, ...input }) =>
      manager.resizeShell(workspace_id, shell_id, input),
    render: (result) => `resized shell ${result.shell_id} to ${result.cols}x${result.rows}`,
  }),
];

/**
 * The output, then what the next read needs: its cursor, and whether more output is waiting
 * or the shell has exited (a model reading only the text must not lose its place).
 */
function renderShellRead(result: {
  output: string;
  next_cursor: number;
  truncated: boolean;
  dropped_chars: number;
  state: "running" | "exited";
  exit_code: number | null;
}): string {
  const notes = [`next cursor ${result.next_cursor}`];
  if (result.truncated) notes.push("more output waits: read again from the next cursor");
  if (result.dropped_chars > 0)
    notes.push(`${result.dropped_chars} older characters were dropped before this output`);
  if (result.state === "exited") notes.push(`shell exited with code ${result.exit_code}`);
  return `${result.output === "" ? "" : withNewline(result.output)}(${notes.join("; ")})`;
}
