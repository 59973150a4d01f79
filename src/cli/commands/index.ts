import type { Command } from "commander";

import { registerCatalogueCommands } from "./call.js";
import { registerDoctorCommand } from "./doctor.js";
import { registerEnvCommands } from "./env.js";
import { registerHostCommands } from "./host.js";
import { registerMcpCommands } from "./mcp.js";
import { registerPrepareCommand } from "./prepare.js";
import { registerRunCommand } from "./run.js";
import { registerWorkspaceCommands } from "./workspace.js";

/**
 * Every command group, one file each: a file exporting a `register…(program)` function,
 * added to this list with the top-level command names it registers (a call that names one
 * of them builds only that group: see buildProgram).
 */
export const commandGroups: ReadonlyArray<{
  names: readonly string[];
  register: (program: Command) => void;
}> = [
  { names: ["run"], register: registerRunCommand },
  { names: ["workspace"], register: registerWorkspaceCommands },
  { names: ["mcp"], register: registerMcpCommands },
  { names: ["env"], register: registerEnvCommands },
  { names: ["doctor"], register: registerDoctorCommand },
  { names: ["call", "ops"], register: registerCatalogueCommands },
  { names: ["host"], register: registerHostCommands },
  { names: ["prepare"], register: registerPrepareCommand },
];
