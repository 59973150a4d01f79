/**
 * The `pyro` command line (started by main.ts). Each command group lives in
 * src/cli/commands/ and binds its commands to catalogue operations through
 * src/cli/output.ts, so the CLI validates and reports errors exactly as the SDK and the
 * MCP server do.
 */
import { CommanderError } from "commander";

import { EXIT_ERROR, EXIT_USAGE, printError } from "./output.js";
import { buildProgram } from "./program.js";

async function main(argv: string[]): Promise<number | undefined> {
  try {
    await buildProgram(argv).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    printError(error, argv.includes("--json"));
    return EXIT_ERROR;
  }
  return undefined;
}

main(process.argv).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    printError(error, false);
    process.exitCode = EXIT_ERROR;
  },
);
