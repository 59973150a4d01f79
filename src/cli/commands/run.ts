import type { Command } from "commander";

import { runOneShot } from "../one-shot.js";
import {
  addJsonOption,
  commandExitCode,
  printCommandOutput,
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
  withExample(
    run,
    "pyro run debian:12 -- uname -a",
    `pyro run debian:12 --allow-host-compat --json -- sh -c 'echo "$HOME"'`,
  );
  run.action((environment: string, words: string[], options: SandboxFlags) =>
    runAction(
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
    ),
  );
}
