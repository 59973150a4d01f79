import fs from "node:fs";

import type { Command } from "commander";

import { ValidationError } from "../../errors.js";
import { MAX_STDIN_BYTES } from "../../shared/limits.js";
import {
  EXIT_CANCELLED,
  addJsonOption,
  commandExitCode,
  numberFlag,
  printCommandOutput,
  printError,
  runOperation,
  withExample,
  type JsonOption,
} from "../output.js";
import { shellQuote } from "../quote.js";
import { addSecretEnvOption, secretEnvFromFlags } from "../secret-flags.js";

interface ExecFlags extends JsonOption {
  cwd?: string;
  timeoutSeconds?: number | string;
  waitSeconds?: number | string;
  env?: string[];
  stdin?: boolean;
  secretEnv?: string[];
}

interface ExecResultView {
  stdout: string;
  stderr: string;
  exit_code: number | null;
  state: "running" | "exited";
  command_id: string | null;
}

/** `pyro workspace exec`: streams output, forwards piped stdin, cancels on Ctrl-C. */
export function registerExecCommand(workspace: Command): void {
  const exec = workspace
    .command("exec")
    .description(
      "Run a command in /workspace and record it in the command log, printing its output as it arrives. Exits with the command's exit code (130 when Ctrl-C cancelled it). Piped stdin is forwarded.",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<command...>", "command and arguments, after -- (re-quoted for the guest shell)")
    .option("--cwd <path>", "working directory under /workspace")
    .option("--timeout-seconds <n>", "timeout (default 30; exit code 124 when hit)", numberFlag)
    .option(
      "--wait-seconds <n>",
      "return after N seconds and leave the command running in the background (see `pyro workspace command`)",
      numberFlag,
    )
    .option("--env <NAME=VALUE>", "environment variable (repeatable)", collect, [])
    .option("--no-stdin", "do not forward this process's stdin even when it is a pipe or file");
  addJsonOption(addSecretEnvOption(exec));
  withExample(
    exec,
    `pyro workspace exec WORKSPACE_ID -- sh -c 'npm test 2>&1 | tail -5'`,
    "pyro workspace exec WORKSPACE_ID --wait-seconds 5 --timeout-seconds 3600 -- make all",
  );
  exec.action(async (id: string, words: string[], options: ExecFlags) => {
    let stdin: string | undefined;
    let env: Record<string, string> | undefined;
    let secretEnv: Record<string, string> | undefined;
    try {
      stdin = options.stdin === false ? undefined : readPipedStdin();
      env = parseEnv(options.env ?? []);
      secretEnv = secretEnvFromFlags(options.secretEnv);
    } catch (error) {
      printError(error, options.json === true);
      process.exitCode = 1;
      return;
    }
    // Ctrl-C or SIGTERM cancels the command in the sandbox (it is killed and logged as
    // cancelled) and then the CLI exits 130; a second one exits at once.
    const controller = new AbortController();
    const onSignal = (): void => {
      if (controller.signal.aborted) process.exit(EXIT_CANCELLED);
      controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // A reader that went away (`pyro workspace exec … | head -1`) stops the command, as
    // SIGPIPE stops a local one, instead of crashing pyro on the next write.
    let closedOutput = false;
    const onOutputError = (error: NodeJS.ErrnoException): void => {
      if (error.code !== "EPIPE") throw error;
      closedOutput = true;
      controller.abort();
    };
    process.stdout.on("error", onOutputError);
    const stream = options.json !== true;
    try {
      await runOperation<ExecResultView>(
        "workspace_exec",
        {
          workspace_id: id,
          command: shellQuote(words),
          cwd: options.cwd,
          timeout_seconds: options.timeoutSeconds,
          wait_seconds: options.waitSeconds,
          stdin,
          env,
          secret_env: secretEnv,
        },
        options,
        (result) => printExec(result, stream),
        execExitCode,
        {
          signal: controller.signal,
          // Output goes straight through as it arrives; --json prints only the result.
          onOutput: stream
            ? (which, chunk) => {
                if (which === "stderr") process.stderr.write(chunk);
                else if (!closedOutput) process.stdout.write(chunk);
              }
            : undefined,
        },
      );
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.stdout.off("error", onOutputError);
    }
  });
}

/** After streaming, only what was not streamed is left to print. */
function printExec(result: ExecResultView, streamed: boolean): void {
  // A sandbox from an older pyro answers without streaming (no command_id).
  if (!streamed || result.command_id === null) printCommandOutput(result);
  if (result.state === "running") {
    process.stderr.write(
      `pyro: still running in the background as ${result.command_id}; follow it with \`pyro workspace command read|wait|kill WORKSPACE_ID ${result.command_id}\`\n`,
    );
  }
}

const execExitCode = (result: ExecResultView): number =>
  result.state === "running" ? 0 : commandExitCode({ exit_code: result.exit_code ?? 0 });

/**
 * This process's stdin, when it is a pipe or a file (`echo hi | pyro workspace exec …`).
 * A terminal, /dev/null or a socket (what a parent process that spawned us without
 * meaning to give input usually leaves) is not forwarded.
 */
function readPipedStdin(): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(0);
  } catch {
    return undefined;
  }
  if (!stat.isFIFO() && !stat.isFile()) return undefined;
  const chunks: Buffer[] = [];
  let total = 0;
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    let read: number;
    try {
      read = fs.readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EAGAIN") continue;
      if ((error as NodeJS.ErrnoException).code === "EOF") break;
      throw error;
    }
    if (read === 0) break;
    total += read;
    if (total > MAX_STDIN_BYTES) {
      throw new ValidationError(
        `stdin must be at most ${MAX_STDIN_BYTES} bytes, got more; put larger input in a file (pyro workspace sync push) and redirect it`,
        { field: "stdin", limit: MAX_STDIN_BYTES },
      );
    }
    chunks.push(Buffer.from(buffer.subarray(0, read)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Repeatable flags (`--env A=1 --env B=2`) collect into a list. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--env NAME=VALUE` flags as the `env` map (names are checked by the catalogue). */
export function parseEnv(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) {
      throw new ValidationError(`--env must be NAME=VALUE, got '${pair}'`, {
        field: "env",
        value: pair,
      });
    }
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return env;
}

/** `pyro workspace command …`: follow commands that went on in the background. */
export function registerCommandCommands(workspace: Command): void {
  const group = workspace
    .command("command")
    .description(
      "Follow commands started with `exec --wait-seconds` (or yielded over MCP): status, read, wait, kill, list.",
    );
  withExample(
    group,
    "pyro workspace exec WORKSPACE_ID --wait-seconds 0 -- make all",
    "pyro workspace command wait WORKSPACE_ID COMMAND_ID --wait-seconds 600",
  );

  const status = group
    .command("status")
    .description("Show a command's state and exit code (no output).")
    .argument("<workspace_id>", "workspace id")
    .argument("<command_id>", "command id");
  addJsonOption(status);
  withExample(status, "pyro workspace command status WORKSPACE_ID COMMAND_ID --json");
  status.action((id: string, commandId: string, options: JsonOption) =>
    runOperation("command_status", { workspace_id: id, command_id: commandId }, options),
  );

  const read = group
    .command("read")
    .description(
      "Print a command's output from the cursors; the next cursors are printed on stderr (and in --json).",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<command_id>", "command id")
    .option("--stdout-cursor <n>", "stdout offset to read from (default 0)", numberFlag)
    .option("--stderr-cursor <n>", "stderr offset to read from (default 0)", numberFlag)
    .option("--max-chars <n>", "most characters of each stream (default 65536)", numberFlag)
    .option("--wait-seconds <n>", "block up to N seconds for new output or the end", numberFlag);
  addJsonOption(read);
  withExample(read, "pyro workspace command read WORKSPACE_ID COMMAND_ID --wait-seconds 10");
  read.action(
    (
      id: string,
      commandId: string,
      options: JsonOption & {
        stdoutCursor?: number;
        stderrCursor?: number;
        maxChars?: number;
        waitSeconds?: number;
      },
    ) =>
      runOperation<{
        stdout: string;
        stderr: string;
        state: string;
        next_stdout_cursor: number;
        next_stderr_cursor: number;
      }>(
        "command_read",
        {
          workspace_id: id,
          command_id: commandId,
          stdout_cursor: options.stdoutCursor,
          stderr_cursor: options.stderrCursor,
          max_chars: options.maxChars,
          wait_seconds: options.waitSeconds,
        },
        options,
        (result) => {
          printCommandOutput(result);
          process.stderr.write(
            `pyro: ${result.state}; next: --stdout-cursor ${result.next_stdout_cursor} --stderr-cursor ${result.next_stderr_cursor}\n`,
          );
        },
      ),
  );

  const wait = group
    .command("wait")
    .description(
      "Wait for a command to end and print its output; exits with its exit code (0 if still running after --wait-seconds).",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<command_id>", "command id")
    .option("--wait-seconds <n>", "wait up to N seconds (default 0)", numberFlag);
  addJsonOption(wait);
  withExample(wait, "pyro workspace command wait WORKSPACE_ID COMMAND_ID --wait-seconds 600");
  wait.action(
    (id: string, commandId: string, options: JsonOption & { waitSeconds?: number | string }) =>
      runOperation<ExecResultView>(
        "command_wait",
        { workspace_id: id, command_id: commandId, wait_seconds: options.waitSeconds },
        options,
        (result) => printExec(result, false),
        execExitCode,
      ),
  );

  const kill = group
    .command("kill")
    .description("Kill a running command and everything it started (logged as cancelled).")
    .argument("<workspace_id>", "workspace id")
    .argument("<command_id>", "command id");
  addJsonOption(kill);
  withExample(kill, "pyro workspace command kill WORKSPACE_ID COMMAND_ID");
  kill.action((id: string, commandId: string, options: JsonOption) =>
    runOperation("command_kill", { workspace_id: id, command_id: commandId }, options),
  );

  const list = group
    .command("list")
    .description("List the workspace's running and recent commands.")
    .argument("<workspace_id>", "workspace id");
  addJsonOption(list);
  withExample(list, "pyro workspace command list WORKSPACE_ID");
  list.action((id: string, options: JsonOption) =>
    runOperation("command_list", { workspace_id: id }, options),
  );
}
