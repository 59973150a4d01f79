import type { Command } from "commander";

import { ValidationError } from "../../errors.js";
import { DEFAULT_DETACH_KEYS } from "../attach-keys.js";
import { runOneShot } from "../one-shot.js";
import {
  addJsonOption,
  commandExitCode,
  EXIT_ERROR,
  printCommandOutput,
  printError,
  runAction,
  withExample,
} from "../output.js";
import { shellQuote } from "../quote.js";
import { addSandboxOptions, sandboxInput, type SandboxFlags } from "../sandbox-flags.js";

export function registerRunCommand(program: Command): void {
  const run = program
    .command("run")
    .description(
      "Run one command in a fresh one-shot sandbox, then delete it. Exits with the command's exit code; Ctrl-C deletes the sandbox.",
    )
    .argument("<environment>", "environment, e.g. debian:12")
    .argument("<command...>", "command and arguments, after -- (re-quoted for the guest shell)");
  addJsonOption(addSandboxOptions(run, { timeout: true }));
  run
    .option("-i, --interactive", "with -t: type into the command from this terminal")
    .option(
      "-t, --tty",
      "with -i: run the command on a terminal (a PTY) attached to this one, like docker run -it --rm",
    )
    .option(
      "--detach-keys <keys>",
      `with -it: key sequence that leaves (and deletes the sandbox), or '' for none (default $PYRO_DETACH_KEYS or ${DEFAULT_DETACH_KEYS})`,
    );
  withExample(
    run,
    "pyro run debian:12 -- uname -a",
    `pyro run debian:12 --allow-host-compat --json -- sh -c 'echo "$HOME"'`,
    "pyro run debian:12 -it -- bash",
  );
  run.action(async (environment: string, words: string[], options: RunFlags) => {
    if (options.interactive || options.tty || options.detachKeys !== undefined) {
      await runWithTerminal(environment, words, options);
      return;
    }
    await runAction(
      options,
      (manager, context) =>
        runOneShot(
          manager,
          {
            environment,
            command: shellQuote(words),
            ...sandboxInput(options),
            timeout_seconds: options.timeoutSeconds,
          },
          context,
        ),
      (result) => {
        printCommandOutput(result);
        // A person at a terminal should know when nothing isolated the command; in a pipe,
        // stderr is the command's own and stays untouched (--json has execution_mode).
        if (result.execution_mode === "host_compat" && process.stderr.isTTY) {
          process.stderr.write(
            "pyro: note: this ran as a host process (host_compat), not in a guest; `pyro doctor` says why\n",
          );
        }
      },
      commandExitCode,
    );
  });
}

interface RunFlags extends SandboxFlags {
  interactive?: boolean;
  tty?: boolean;
  detachKeys?: string;
}

/** `pyro run -it`: refuses what a terminal session cannot do before creating anything. */
async function runWithTerminal(
  environment: string,
  words: string[],
  options: RunFlags,
): Promise<void> {
  const problem = !(options.interactive && options.tty)
    ? "-i and -t go together: `pyro run ENV -it -- CMD` runs CMD on a terminal"
    : options.json
      ? "--json cannot be combined with -it: the command's output goes to the terminal"
      : options.timeoutSeconds !== undefined
        ? "--timeout-seconds does not apply to -it: the command runs until it exits, you leave, or the sandbox's --ttl-seconds ends"
        : null;
  if (problem) {
    printError(new ValidationError(problem, { field: "interactive" }), false);
    process.exitCode = EXIT_ERROR;
    return;
  }
  const { runInteractive } = await import("../attach-commands.js");
  const onProgress = (progress: { message: string }): void => {
    process.stderr.write(`pyro: ${progress.message}\n`);
  };
  await runInteractive(
    { environment, ...sandboxInput(options) },
    shellQuote(words),
    { detachKeys: options.detachKeys },
    onProgress,
  );
}
