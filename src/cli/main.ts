#!/usr/bin/env node
/**
 * The `pyro` command line. This build carries `pyro run` (the main job: one command in a
 * fresh sandbox) and `pyro call`, a direct binding of every catalogue operation; the full
 * per-command CLI is bound to the same catalogue.
 */
import { Command, CommanderError } from "commander";

import { Manager } from "../core/manager.js";
import { PyroError, asPyroError } from "../errors.js";
import { invokeOperation, operations } from "../operations/index.js";
import { registerEnvironmentCommands } from "./environments.js";
import { shellQuote } from "./quote.js";
import { runOneShot } from "./run.js";

const EXIT_USAGE = 2;
const EXIT_ERROR = 1;

function makeManager(): Manager {
  return new Manager();
}

function parseIntOption(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed))
      throw new PyroError("invalid_argument", `${name} must be an integer, got '${value}'`);
    return parsed;
  };
}

function printError(error: unknown, json: boolean): void {
  const pyroError = asPyroError(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: pyroError.toJSON() }, null, 2)}\n`);
  else process.stderr.write(`pyro: error [${pyroError.code}]: ${pyroError.message}\n`);
}

async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program.name("pyro").description("Disposable Linux sandboxes for coding agents.").exitOverride();
  let exitCode = 0;

  program
    .command("run")
    .description("Run one command in a fresh one-shot sandbox, then delete it.")
    .argument("<environment>", "environment, e.g. debian:12")
    .argument("<command...>", "command and arguments (put them after --)")
    .option("--vcpu-count <n>", "virtual CPUs (1-8)", parseIntOption("--vcpu-count"))
    .option("--mem-mib <n>", "memory in MiB (128-32768)", parseIntOption("--mem-mib"))
    .option(
      "--timeout-seconds <n>",
      "command timeout in seconds",
      parseIntOption("--timeout-seconds"),
    )
    .option("--ttl-seconds <n>", "sandbox lifetime in seconds", parseIntOption("--ttl-seconds"))
    .option("--network", "request guest networking")
    .option("--allow-host-compat", "allow running as a host process when no guest can boot")
    .option("--json", "print the result as JSON")
    .action(async (environment: string, command: string[], options: Record<string, unknown>) => {
      const manager = makeManager();
      try {
        const result = await runOneShot(manager, {
          environment,
          command: shellQuote(command),
          vcpu_count: options.vcpuCount,
          mem_mib: options.memMib,
          timeout_seconds: options.timeoutSeconds,
          ttl_seconds: options.ttlSeconds,
          network: options.network === true ? true : undefined,
          allow_host_compat: options.allowHostCompat === true ? true : undefined,
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        } else {
          process.stdout.write(result.stdout);
          process.stderr.write(result.stderr);
        }
        exitCode = result.exit_code;
      } catch (error) {
        printError(error, options.json === true);
        exitCode = EXIT_ERROR;
      } finally {
        manager.close();
      }
    });

  program
    .command("call")
    .description("Invoke any operation of the catalogue with JSON input; prints JSON.")
    .argument("<operation>", `one of: ${operations.map((operation) => operation.name).join(", ")}`)
    .argument("[input]", "JSON object with the operation's input", "{}")
    .action(async (name: string, input: string) => {
      const manager = makeManager();
      try {
        let parsed: unknown;
        try {
          parsed = JSON.parse(input);
        } catch {
          throw new PyroError("invalid_argument", `input must be a JSON object, got '${input}'`);
        }
        const result = await invokeOperation(manager, name, parsed);
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } catch (error) {
        printError(error, true);
        exitCode = EXIT_ERROR;
      } finally {
        manager.close();
      }
    });

  registerEnvironmentCommands(program, {
    makeManager,
    fail: (error, json) => {
      printError(error, json);
      exitCode = EXIT_ERROR;
    },
  });

  program
    .command("ops")
    .description("List the operations of the catalogue.")
    .action(() => {
      for (const operation of operations) {
        process.stdout.write(`${operation.name.padEnd(22)} ${operation.description}\n`);
      }
    });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    printError(error, false);
    return EXIT_ERROR;
  }
  return exitCode;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    printError(error, false);
    process.exitCode = EXIT_ERROR;
  },
);
