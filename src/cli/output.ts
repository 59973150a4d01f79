/**
 * Shared plumbing of every CLI command: run one catalogue operation, print the result
 * (exactly the SDK object with --json, a human rendering otherwise), send progress and
 * diagnostics to stderr, and turn failures into `error [code]: message` plus a non-zero
 * exit status.
 */
import type { Command } from "commander";

import type { Manager } from "../core/manager.js";
import { asPyroError } from "../errors.js";
import { nextStep } from "../operations/hints.js";
import type { OperationContext, Progress } from "../operations/index.js";

export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_CANCELLED = 130;

export interface JsonOption {
  json?: boolean;
}

/** How a command prints a successful result for humans. */
type HumanPrinter<Result> = (result: Result) => void;

export function addJsonOption(command: Command): Command {
  return command.option("--json", "print the result as JSON (the same object the SDK returns)");
}

/** Appends a worked example to a command's --help. */
export function withExample(command: Command, ...examples: string[]): Command {
  return command.addHelpText(
    "after",
    `\nExample${examples.length > 1 ? "s" : ""}:\n${examples.map((line) => `  $ ${line}`).join("\n")}\n`,
  );
}

/**
 * The runtime and the catalogue are imported when a command runs, not when the CLI starts:
 * `--help` and `--version` then load only commander.
 */
export async function makeManager(): Promise<Manager> {
  const { Manager } = await import("../core/manager.js");
  return new Manager();
}

/**
 * Progress lines ("booting sandbox", ...) go to stderr when a person is watching (a TTY),
 * or when PYRO_PROGRESS=1; never into a pipe by default, where stderr may be the data
 * (pyro run passes the command's stderr through).
 */
function progressPrinter(): ((progress: Progress) => void) | undefined {
  if (!process.stderr.isTTY && process.env.PYRO_PROGRESS !== "1") return undefined;
  return (progress) => process.stderr.write(`pyro: ${progress.message}\n`);
}

function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printError(error: unknown, json: boolean): void {
  const failure = asPyroError(error);
  if (json) writeJson({ error: failure.toJSON() });
  process.stderr.write(`pyro: error [${failure.code}]: ${failure.message}\n`);
  if (!json) process.stderr.write(`pyro: next step: ${nextStep(failure, "cli")}\n`);
}

/**
 * Runs `operation` with `input` and prints the result; sets process.exitCode. The input
 * goes through the catalogue exactly as MCP and SDK input does, so errors read the same.
 */
export async function runOperation<Result = Record<string, unknown>>(
  operationName: string,
  input: Record<string, unknown>,
  options: JsonOption,
  human?: HumanPrinter<Result>,
  exitStatus?: (result: Result) => number,
  extra: Omit<OperationContext, "onProgress"> = {},
): Promise<void> {
  const { invokeOperation, requireOperation } = await import("../operations/index.js");
  const printRendering = (result: Result): void => {
    // Only reached after the operation ran, so it exists.
    const text = requireOperation(operationName).render(result as Record<string, unknown>);
    if (text !== "") process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  };
  await runAction<Result>(
    options,
    (manager, context) =>
      invokeOperation(manager, operationName, withoutUndefined(input), {
        ...context,
        ...extra,
      }) as Promise<Result>,
    human ?? printRendering,
    exitStatus,
  );
}

/** Runs an action on a fresh manager, prints its result and maps failures to an exit status. */
export async function runAction<Result>(
  options: JsonOption,
  action: (manager: Manager, context: OperationContext) => Promise<Result>,
  human: HumanPrinter<Result>,
  exitStatus?: (result: Result) => number,
): Promise<void> {
  let manager: Manager | undefined;
  try {
    manager = await makeManager();
    const result = await action(manager, { onProgress: progressPrinter() });
    if (options.json) writeJson(result);
    else human(result);
    // A command's own exit status passes through, with or without --json.
    if (exitStatus) process.exitCode = exitStatus(result);
  } catch (error) {
    printError(error, options.json === true);
    // A cancelled command (Ctrl-C, SIGTERM) exits as a shell's interrupted command does.
    process.exitCode = asPyroError(error).code === "cancelled" ? EXIT_CANCELLED : EXIT_ERROR;
  } finally {
    manager?.close();
  }
}

function withoutUndefined(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}

/**
 * Numeric flags: a number when the text is one, else the text itself, so the catalogue
 * rejects it with the same message an MCP client or SDK caller gets for that value.
 */
export function numberFlag(value: string): number | string {
  return value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
}

/** Boolean flags become `true` or are left out, so the operation's default applies. */
export function flag(value: unknown): true | undefined {
  return value === true ? true : undefined;
}

/** Prints a command's output as the command would: its stdout to stdout, stderr to stderr. */
export function printCommandOutput(result: { stdout: string; stderr: string }): void {
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
}

export const commandExitCode = (result: { exit_code?: number }): number => result.exit_code ?? 0;

/**
 * `--id-only`: the printer that writes just the new object's id (and a newline), so a
 * script can capture it; undefined (the usual rendering) without the flag. With --json the
 * JSON wins: it carries the id too.
 */
export function idOnlyPrinter<Key extends string>(
  options: JsonOption & { idOnly?: boolean },
  key: Key,
): HumanPrinter<Record<Key, string>> | undefined {
  if (options.idOnly !== true) return undefined;
  return (result) => process.stdout.write(`${result[key]}\n`);
}
