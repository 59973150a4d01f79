import { Command } from "commander";

import { PACKAGE_VERSION } from "../version.js";
import { withExample } from "./output.js";

/** The root `pyro` command, without subcommands: name, description, --version, examples. */
export function newRoot(): Command {
  const program = new Command();
  program
    .name("pyro")
    .description(
      "Disposable Linux sandboxes for coding agents: one-shot commands and persistent workspaces.\nEvery command takes --json; data goes to stdout, diagnostics to stderr.",
    )
    .version(PACKAGE_VERSION, "-V, --version", "print the pyro version")
    .showSuggestionAfterError();
  withExample(
    program,
    "pyro run debian:12 --allow-host-compat -- uname -a",
    "pyro workspace create debian:12 --seed-path . --allow-host-compat --json",
    "pyro mcp serve",
  );
  return program;
}
