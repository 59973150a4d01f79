import type { Command } from "commander";

import { registerCatalogueCommands } from "./call.js";
import { registerDoctorCommand } from "./doctor.js";
import { registerEnvCommands } from "./env.js";
import { registerMcpCommands } from "./mcp.js";
import { registerRunCommand } from "./run.js";
import { registerWorkspaceCommands } from "./workspace.js";

/**
 * Every command group, one file each: a file exporting a `register…(program)` function,
 * added to this list.
 */
export const commandGroups: ReadonlyArray<(program: Command) => void> = [
  registerRunCommand,
  registerWorkspaceCommands,
  registerMcpCommands,
  registerEnvCommands,
  registerDoctorCommand,
  registerCatalogueCommands,
];
