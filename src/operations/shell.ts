import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { renderShell, shellResult, withNewline } from "./results.js";
import { SHELL_SIGNALS } from "../shared/shell-signals.js";
import { MAX_READ_CHARS } from "./command.js";
import { intAtLeast, intBetween, numberBetween, oneOf } from "./rules.js";

const shellId = lazy(() => z.string());

export const shellOperations = [
  defineOperation({
    name: "shell_open",
    method: "openShell",
    title: "Open shell",
    effect: "write",
    description:
      "Open a persistent bash PTY in a workspace. Returns shell_id for shell_write/shell_read.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        cwd: z.string().describe("Under /workspace.").optional(),
        cols: intBetween(1, 1000).default(120),
        rows: intBetween(1, 1000).default(30),
        secret_env: fields.secret_env,
      }),
    output: () => shellResult(),
    handler: (manager, { workspace_id, ...input }) => manager.openShell(workspace_id, input),
    render: renderShell,
  }),
  defineOperation({
    name: "shell_read",
    method: "readShell",
    title: "Read shell output",
    effect: "read",
    description:
      "Read shell output from cursor (pass next_cursor back). plain: true with wait_for_idle_ms: 300 returns a command's output as text.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        shell_id: shellId(),
        cursor: intAtLeast(0).default(0).describe("Absolute output offset."),
        max_chars: intBetween(1, MAX_READ_CHARS).default(65_536),
        wait_seconds: numberBetween(0, 30)
          .default(0)
          .describe("Wait this long for output past cursor."),
        plain: z
          .boolean()
          .describe(
            "Strip escape sequences and apply \\r and backspaces (cursors stay raw offsets).",
          )
          .optional(),
        wait_for_idle_ms: intBetween(1, 10_000)
          .describe(
            "Read until output pauses this long (or the shell exits, or max_chars); 300 suits a command just typed.",
          )
          .optional(),
      }),
    output: () =>
      shellResult().extend({
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
    title: "Type into shell",
    effect: "destructive",
    description: "Type input into a shell (plus a newline unless append_newline is false).",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        shell_id: shellId(),
        input: z.string().describe("Text to type."),
        append_newline: z.boolean().describe("Append a newline (default true).").optional(),
      }),
    output: () =>
      shellResult().extend({ input_length: z.number().int(), append_newline: z.boolean() }),
    handler: (manager, { workspace_id, shell_id, ...input }) =>
      manager.writeShell(workspace_id, shell_id, input),
    render: (result) => `wrote ${result.input_length} characters to shell ${result.shell_id}`,
  }),
  defineOperation({
    name: "shell_signal",
    method: "signalShell",
    title: "Signal shell job",
    effect: "destructive",
    description: "Send a signal to the shell's foreground job (INT is Ctrl-C).",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        shell_id: shellId(),
        signal: oneOf(SHELL_SIGNALS).default("INT"),
      }),
    output: () =>
      shellResult().extend({
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
    title: "Close shell",
    effect: "destructive",
    idempotent: true,
    description: "Close a shell and end everything started in it. Returns {closed: true}.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id, shell_id: shellId() }),
    output: () => z.object({ workspace_id: z.string(), shell_id: z.string(), closed: z.boolean() }),
    handler: (manager, input) => manager.closeShell(input.workspace_id, input.shell_id),
    render: (result) => `closed shell ${result.shell_id}`,
  }),
  defineOperation({
    name: "shell_resize",
    method: "resizeShell",
    title: "Resize shell",
    effect: "write",
    idempotent: true,
    description: "Set a shell's terminal size (an omitted one is kept); its job gets SIGWINCH.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        shell_id: shellId(),
        cols: intBetween(1, 1000).optional(),
        rows: intBetween(1, 1000).optional(),
      }),
    output: () => shellResult(),
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
