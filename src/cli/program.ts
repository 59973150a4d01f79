import type { Command } from "commander";

import { commandGroups } from "./commands/index.js";
import { newRoot } from "./root.js";

/**
 * The `pyro` command tree (built without running anything, so tests can walk it). Given
 * the command line, and when its first word names a command, only that command's group is
 * built: the others would only cost start-up time. Anything else (options first, `help`,
 * a misspelt command) gets the whole tree, so help and suggestions see every command.
 */
export function buildProgram(argv?: readonly string[]): Command {
  return buildProgramFrom(commandGroups, argv);
}

/** The same, from `groups` only (the read path's, src/cli/read.ts). */
export function buildProgramFrom(groups: typeof commandGroups, argv?: readonly string[]): Command {
  const program = newRoot();
  const first = argv?.[2];
  const named = groups.filter((group) => first !== undefined && group.names.includes(first));
  for (const group of named.length > 0 ? named : groups) group.register(program);
  // Commander applies exitOverride per command, so set it on every one: main() maps a
  // usage error to exit status 2 instead of commander calling process.exit itself.
  for (const command of allCommands(program)) command.exitOverride();
  return program;
}

export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((command) => allCommands(command))];
}
