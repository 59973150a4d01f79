import type { Command } from "commander";

import { runOneShot } from "../one-shot.js";
import {
  addJsonOption,
  commandExitCode,
  flag,
  numberFlag,
  printCommandOutput,
  runAction,
  withExample,
} from "../output.js";
import { shellQuote } from "../quote.js";

/** Flags shared by every command that creates a sandbox (run, workspace create). */
export function addSandboxOptions(command: Command, { timeout }: { timeout: boolean }): Command {
  command
    .option("--vcpu-count <n>", "virtual CPUs, 1-8 (default 1)", numberFlag)
    .option("--mem-mib <n>", "memory in MiB, 128-32768 (default 1024)", numberFlag);
  if (timeout)
    command.option(
      "--timeout-seconds <n>",
      "command timeout in seconds (default 30; exit code 124 when hit)",
      numberFlag,
    );
  return command
    .option("--ttl-seconds <n>", "sandbox lifetime in seconds, 60-86400 (default 600)", numberFlag)
    .option("--network", "request guest networking")
    .option(
      "--allow-host-compat",
      "where no guest can boot, run commands as plain host processes (NOT isolated)",
    );
}

export interface SandboxFlags {
  vcpuCount?: number | string;
  memMib?: number | string;
  timeoutSeconds?: number | string;
  ttlSeconds?: number | string;
  network?: boolean;
  allowHostCompat?: boolean;
  json?: boolean;
}

export function sandboxInput(options: SandboxFlags): Record<string, unknown> {
  return {
    vcpu_count: options.vcpuCount,
    mem_mib: options.memMib,
    ttl_seconds: options.ttlSeconds,
    network: flag(options.network),
    allow_host_compat: flag(options.allowHostCompat),
  };
}

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
    "pyro run debian:12 --allow-host-compat -- uname -a",
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
      printCommandOutput,
      commandExitCode,
    ),
  );
}
