/**
 * Runs the `pyro` command line on a command tree (src/cli/run.ts builds the whole tree,
 * src/cli/read.ts only what read-only calls name) and maps its failures to exit statuses.
 */
import { CommanderError, type Command } from "commander";

import { EXIT_ERROR, EXIT_USAGE, printError } from "./output.js";

async function main(
  argv: string[],
  build: (argv: readonly string[]) => Command,
): Promise<number | undefined> {
  try {
    await build(argv).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    printError(error, argv.includes("--json"));
    return EXIT_ERROR;
  }
  return undefined;
}

export function startCli(build: (argv: readonly string[]) => Command): void {
  main(process.argv, build).then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (error: unknown) => {
      printError(error, false);
      process.exitCode = EXIT_ERROR;
    },
  );
}
