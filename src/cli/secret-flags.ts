import type { Command } from "commander";

import { ValidationError } from "../errors.js";
import { printError } from "./output.js";

/**
 * `--secret NAME=VALUE`, `--secret-file NAME=PATH` (workspace create) and
 * `--secret-env SECRET[=ENV]` (exec, shell open, service start). Names and values are
 * checked by the manager; a malformed flag is refused here without echoing it, since
 * what follows the name may be a value.
 */

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export interface SecretFlags {
  secret?: string[];
  secretFile?: string[];
  json?: boolean;
}

export function addSecretOptions(command: Command): Command {
  return command
    .option(
      "--secret <NAME=VALUE>",
      "secret available as /run/pyro-secrets/NAME and through --secret-env (repeatable)",
      collect,
      [],
    )
    .option(
      "--secret-file <NAME=PATH>",
      "secret read from a host UTF-8 file (repeatable)",
      collect,
      [],
    );
}

export function addSecretEnvOption(command: Command): Command {
  return command.option(
    "--secret-env <SECRET[=ENV]>",
    "put secret SECRET in the environment as ENV (default: SECRET) (repeatable)",
    collect,
    [],
  );
}

function splitPair(pair: string, flag: string, shape: string): [string, string] {
  const equals = pair.indexOf("=");
  if (equals <= 0) {
    throw new ValidationError(`${flag} must be ${shape} (an argument without a name before '=')`, {
      field: flag,
    });
  }
  return [pair.slice(0, equals), pair.slice(equals + 1)];
}

/** The `secrets` list of workspace_create from the flags, in the order given. */
export function secretsFromFlags(
  options: SecretFlags,
): Array<{ name: string; value: string } | { name: string; file_path: string }> | undefined {
  const secrets: Array<{ name: string; value: string } | { name: string; file_path: string }> = [];
  for (const pair of options.secret ?? []) {
    const [name, value] = splitPair(pair, "--secret", "NAME=VALUE");
    secrets.push({ name, value });
  }
  for (const pair of options.secretFile ?? []) {
    const [name, file_path] = splitPair(pair, "--secret-file", "NAME=PATH");
    secrets.push({ name, file_path });
  }
  return secrets.length > 0 ? secrets : undefined;
}

/** `--secret-env SECRET[=ENV]` flags as the `secret_env` map {ENV: SECRET}. */
export function secretEnvFromFlags(
  flags: string[] | undefined,
): Record<string, string> | undefined {
  if (!flags || flags.length === 0) return undefined;
  const map: Record<string, string> = {};
  for (const flag of flags) {
    const equals = flag.indexOf("=");
    const secret = equals < 0 ? flag : flag.slice(0, equals);
    const env = equals < 0 ? flag : flag.slice(equals + 1);
    if (secret === "" || env === "") {
      throw new ValidationError(`--secret-env must be SECRET or SECRET=ENV, got '${flag}'`, {
        field: "secret_env",
        value: flag,
      });
    }
    map[env] = secret;
  }
  return map;
}

/** Runs `parse`; a refusal is printed like any other error (exit status 1) and gives null. */
export function parseFlags<T>(options: { json?: boolean }, parse: () => T): { value: T } | null {
  try {
    return { value: parse() };
  } catch (error) {
    printError(error, options.json === true);
    process.exitCode = 1;
    return null;
  }
}
