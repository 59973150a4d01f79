import type { Command } from "commander";

import { PyroError } from "../../errors.js";
import { addJsonOption, runOperation, withExample, type JsonOption } from "../output.js";

/**
 * Escape hatches bound to the whole catalogue: `pyro ops` lists every operation and
 * `pyro call OP JSON` runs one with the exact JSON input an MCP client would send.
 */
export function registerCatalogueCommands(program: Command): void {
  const call = program
    .command("call")
    .description("Invoke any operation with its JSON input (as an MCP client would); prints JSON.")
    .argument("<operation>", "operation name (see pyro ops)")
    .argument("[input]", "JSON object with the operation's input", "{}")
    .option("--json", "accepted for uniformity: the output is always JSON");
  withExample(call, `pyro call workspace_exec '{"workspace_id": "WORKSPACE_ID", "command": "ls"}'`);
  call.action(async (name: string, input: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      parsed = null;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      // Reported like any other failure of the operation (JSON on stdout, exit 1).
      const error = new PyroError(
        "invalid_argument",
        `input must be a JSON object, got '${input}'`,
      );
      process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
      process.stderr.write(`pyro: error [${error.code}]: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    await runOperation(name, parsed as Record<string, unknown>, { json: true });
  });

  const ops = program.command("ops").description("List every operation of the catalogue.");
  addJsonOption(ops);
  withExample(ops, "pyro ops --json");
  ops.action(async (options: JsonOption) => {
    const { operations } = await import("../../operations/index.js");
    if (options.json) {
      const listing = operations.map(({ name, method, description }) => ({
        name,
        method,
        description,
      }));
      process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
      return;
    }
    for (const operation of operations) {
      process.stdout.write(`${operation.name.padEnd(22)} ${operation.description}\n`);
    }
  });
}
