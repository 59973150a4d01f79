/**
 * The `pyro` command line (started by main.ts). Each command group lives in
 * src/cli/commands/ and binds its commands to catalogue operations through
 * src/cli/output.ts, so the CLI validates and reports errors exactly as the SDK and the
 * MCP server do. Read-only calls take src/cli/read.ts instead (see main.ts).
 */
import { buildProgram } from "./program.js";
import { startCli } from "./start.js";

startCli(buildProgram);
