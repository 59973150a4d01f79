/**
 * The read path of the command line: what main.ts loads, as the CommonJS bundle
 * dist/cli/chunks/read.cjs (scripts/build-cli.mjs), for the calls src/cli/read-only.ts
 * names. It builds the named group exactly as src/cli/run.ts does, from the same modules,
 * but without the ES module loader and the other groups: see docs/cli.md, "Start-up time".
 */
import { registerEnvCommands } from "./commands/env.js";
import { registerWorkspaceCommands } from "./commands/workspace.js";
import { buildProgramFrom } from "./program.js";
import { startCli } from "./start.js";

startCli((argv) =>
  buildProgramFrom(
    [
      // Only the subcommand named (status, logs or list): see registerWorkspaceCommands.
      { names: ["workspace"], register: (program) => registerWorkspaceCommands(program, argv[3]) },
      { names: ["env"], register: registerEnvCommands },
    ],
    argv,
  ),
);
