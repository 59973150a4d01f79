import type { Command } from "commander";

import { addSecretEnvOption, parseFlags, secretEnvFromFlags } from "../secret-flags.js";

import { DEFAULT_DETACH_KEYS } from "../attach-keys.js";

import {
  addJsonOption,
  flag,
  idOnlyPrinter,
  numberFlag,
  runOperation,
  withExample,
  type JsonOption,
} from "../output.js";

/** `pyro workspace shell …`: persistent PTY shells, usable from any number of CLI calls. */
export function registerShellCommands(workspace: Command): void {
  const shell = workspace
    .command("shell")
    .description("Persistent PTY shells inside a workspace (open, write, read, signal, close).");
  withExample(
    shell,
    "pyro workspace shell open WORKSPACE_ID --json",
    "pyro workspace shell write WORKSPACE_ID SHELL_ID --input 'make watch'",
    "pyro workspace shell read WORKSPACE_ID SHELL_ID --cursor 0",
  );

  const open = shell
    .command("open")
    .description("Open a bash PTY in the workspace; prints the shell id.")
    .argument("<workspace_id>", "workspace id")
    .option("--cwd <path>", "directory under /workspace (default /workspace)")
    .option("--cols <n>", "terminal columns (default 120)", numberFlag)
    .option("--rows <n>", "terminal rows (default 30)", numberFlag)
    .option("--id-only", "print only the shell id (for scripts)");
  addJsonOption(addSecretEnvOption(open));
  withExample(
    open,
    "pyro workspace shell open WORKSPACE_ID --cwd /workspace/src",
    "SHELL=$(pyro workspace shell open WORKSPACE_ID --id-only)",
  );
  open.action(
    async (
      id: string,
      options: JsonOption & {
        cwd?: string;
        cols?: number;
        rows?: number;
        secretEnv?: string[];
        idOnly?: boolean;
      },
    ) => {
      const secretEnv = parseFlags(options, () => secretEnvFromFlags(options.secretEnv));
      if (!secretEnv) return;
      await runOperation(
        "shell_open",
        {
          workspace_id: id,
          cwd: options.cwd,
          cols: options.cols,
          rows: options.rows,
          secret_env: secretEnv.value,
        },
        options,
        idOnlyPrinter(options, "shell_id"),
      );
    },
  );

  const read = shell
    .command("read")
    .description(
      "Print the shell's output from --cursor; the next cursor is printed on stderr (and in --json).",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<shell_id>", "shell id")
    .option("--cursor <n>", "output offset to read from (default 0)", numberFlag)
    .option("--max-chars <n>", "most characters to return (default 65536)", numberFlag)
    .option(
      "--wait-seconds <n>",
      "with no new output yet, wait up to this long (0-30) for some or for the shell to exit",
      numberFlag,
    )
    .option(
      "--plain",
      "plain text: strip escape/control sequences, apply carriage returns and backspaces",
    )
    .option(
      "--wait-for-idle-ms <n>",
      "keep reading until the output was idle this long (1-10000 ms; bounded by --wait-seconds, else 10 s)",
      numberFlag,
    );
  addJsonOption(read);
  withExample(
    read,
    "pyro workspace shell read WORKSPACE_ID SHELL_ID --cursor 1024",
    "pyro workspace shell read WORKSPACE_ID SHELL_ID --cursor 1024 --wait-seconds 10",
    "pyro workspace shell read WORKSPACE_ID SHELL_ID --plain --wait-for-idle-ms 300",
  );
  read.action(
    (
      id: string,
      shellId: string,
      options: JsonOption & {
        cursor?: number;
        maxChars?: number;
        waitSeconds?: number;
        plain?: boolean;
        waitForIdleMs?: number;
      },
    ) =>
      runOperation<{ output: string; next_cursor: number }>(
        "shell_read",
        {
          workspace_id: id,
          shell_id: shellId,
          cursor: options.cursor,
          max_chars: options.maxChars,
          wait_seconds: options.waitSeconds,
          plain: flag(options.plain),
          wait_for_idle_ms: options.waitForIdleMs,
        },
        options,
        (result) => {
          process.stdout.write(result.output);
          process.stderr.write(`pyro: next cursor ${result.next_cursor}\n`);
        },
      ),
  );

  const write = shell
    .command("write")
    .description("Type --input into the shell, followed by a newline unless --no-newline.")
    .argument("<workspace_id>", "workspace id")
    .argument("<shell_id>", "shell id")
    .requiredOption("--input <text>", "text to type")
    .option("--no-newline", "do not press Enter after the input");
  addJsonOption(write);
  withExample(write, "pyro workspace shell write WORKSPACE_ID SHELL_ID --input 'ls -la'");
  write.action(
    (id: string, shellId: string, options: JsonOption & { input: string; newline: boolean }) =>
      runOperation(
        "shell_write",
        {
          workspace_id: id,
          shell_id: shellId,
          input: options.input,
          append_newline: options.newline,
        },
        options,
      ),
  );

  const signal = shell
    .command("signal")
    .description("Send a signal to the shell's foreground job (default INT, like Ctrl-C).")
    .argument("<workspace_id>", "workspace id")
    .argument("<shell_id>", "shell id")
    .option("--signal <name>", "HUP, INT, TERM or KILL (default INT)");
  addJsonOption(signal);
  withExample(signal, "pyro workspace shell signal WORKSPACE_ID SHELL_ID --signal TERM");
  signal.action((id: string, shellId: string, options: JsonOption & { signal?: string }) =>
    runOperation(
      "shell_signal",
      { workspace_id: id, shell_id: shellId, signal: options.signal },
      options,
    ),
  );

  const resize = shell
    .command("resize")
    .description("Set the shell's terminal size; its foreground job gets SIGWINCH.")
    .argument("<workspace_id>", "workspace id")
    .argument("<shell_id>", "shell id")
    .option("--cols <n>", "terminal columns (1-1000; default: unchanged)", numberFlag)
    .option("--rows <n>", "terminal rows (1-1000; default: unchanged)", numberFlag);
  addJsonOption(resize);
  withExample(resize, "pyro workspace shell resize WORKSPACE_ID SHELL_ID --cols 200 --rows 50");
  resize.action(
    (id: string, shellId: string, options: JsonOption & { cols?: number; rows?: number }) =>
      runOperation(
        "shell_resize",
        { workspace_id: id, shell_id: shellId, cols: options.cols, rows: options.rows },
        options,
      ),
  );

  const close = shell
    .command("close")
    .description("Close the shell and everything started in it.")
    .argument("<workspace_id>", "workspace id")
    .argument("<shell_id>", "shell id");
  addJsonOption(close);
  withExample(close, "pyro workspace shell close WORKSPACE_ID SHELL_ID");
  close.action((id: string, shellId: string, options: JsonOption) =>
    runOperation("shell_close", { workspace_id: id, shell_id: shellId }, options),
  );

  registerAttachCommand(workspace);
}

/** `pyro workspace attach`: this terminal on a shell, interactively (src/cli/attach-*.ts). */
function registerAttachCommand(workspace: Command): void {
  const attach = workspace
    .command("attach")
    .description(
      `Attach this terminal to a shell in the workspace: a new one (its id is printed), or SHELL_ID. Keys, Ctrl-C included, go to the shell; detach with ${DEFAULT_DETACH_KEYS} (the shell keeps running) and attach again later, from any terminal.`,
    )
    .argument("<workspace_id>", "workspace id")
    .argument("[shell_id]", "shell to attach to (default: open a new one)")
    .option(
      "--detach-keys <keys>",
      `key sequence that detaches, e.g. ctrl-],  or '' for none (default $PYRO_DETACH_KEYS or ${DEFAULT_DETACH_KEYS})`,
    )
    .option("--cwd <path>", "directory of a new shell, under /workspace (default /workspace)");
  withExample(
    attach,
    "pyro workspace attach WORKSPACE_ID",
    "pyro workspace attach WORKSPACE_ID SHELL_ID --detach-keys ctrl-]",
  );
  attach.action(
    async (
      id: string,
      shellId: string | undefined,
      options: { detachKeys?: string; cwd?: string },
    ) => {
      const { attachWorkspace } = await import("../attach-commands.js");
      await attachWorkspace(id, shellId, options);
    },
  );
}
