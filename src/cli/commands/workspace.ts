import type { Command } from "commander";

import {
  addJsonOption,
  idOnlyPrinter,
  numberFlag,
  runOperation,
  withExample,
  type JsonOption,
} from "../output.js";
import { addSandboxOptions, sandboxInput, type SandboxFlags } from "../sandbox-flags.js";
import {
  addSecretOptions,
  parseFlags,
  secretsFromFlags,
  type SecretFlags,
} from "../secret-flags.js";
import { collect, registerCommandCommands, registerExecCommand } from "./command.js";
import { registerDiskCommands, registerFileCommands } from "./files.js";
import { registerServiceCommands } from "./service.js";
import { registerShellCommands } from "./shell.js";
import { registerForkCommand } from "./workspace-fork.js";
import { registerLogsCommand } from "./workspace-logs.js";
import {
  addCreateLifeOptions,
  createLifeInput,
  registerWorkspaceLifeCommands,
  registerWorkspaceListCommand,
  type CreateLifeFlags,
} from "./workspace-life.js";

/**
 * `pyro workspace …`: persistent workspaces, their snapshots, shells and services. Given
 * `only`, a read-only subcommand (the read path's, src/cli/read.ts), only that subcommand
 * is built: a call that names it parses, prints help and fails exactly the same without its
 * siblings, and building all of them took about 10 ms.
 */
export function registerWorkspaceCommands(program: Command, only?: string): void {
  const workspace = program
    .command("workspace")
    .description(
      "Persistent workspaces: seed, exec, sync, diff, export, snapshots, reset, shells and services.",
    );
  withExample(
    workspace,
    "pyro workspace create debian:12 --seed-path ./repo --allow-host-compat",
    "pyro workspace exec WORKSPACE_ID -- make test",
  );
  const readOnly = only === undefined ? undefined : READ_ONLY_SUBCOMMANDS.get(only);
  if (readOnly) {
    readOnly(workspace);
    return;
  }
  registerCreateCommand(workspace);
  registerExecCommand(workspace);
  registerSyncCommands(workspace);
  idCommand(workspace, "diff", {
    operation: "workspace_diff",
    description:
      "Show what changed in /workspace since the baseline: the unified patch on stdout, a summary on stderr.",
    example: "pyro workspace diff WORKSPACE_ID > changes.patch",
    human: printDiff,
  });
  registerExportCommand(workspace);
  registerSnapshotCommands(workspace);
  registerResetCommand(workspace);
  registerForkCommand(workspace);
  registerStatusCommand(workspace);
  registerLogsCommand(workspace);
  idCommand(workspace, "delete", {
    operation: "workspace_delete",
    description: "Stop the sandbox and delete the workspace with all its snapshots.",
    example: "pyro workspace delete WORKSPACE_ID",
  });
  idCommand(workspace, "summary", {
    operation: "workspace_summary",
    description:
      "Review the workspace since its creation or last reset: commands with exit codes, changed files, snapshots, services, syncs and exports (bounded).",
    example: "pyro workspace summary WORKSPACE_ID",
  });

  registerShellCommands(workspace);
  registerServiceCommands(workspace);
  registerCommandCommands(workspace);
  registerFileCommands(workspace);
  registerDiskCommands(workspace);
  registerWorkspaceLifeCommands(workspace);
  registerNetworkLogCommand(workspace);
}

function registerStatusCommand(workspace: Command): void {
  idCommand(workspace, "status", {
    operation: "workspace_status",
    description:
      "Show the workspace's state, command count, resets, services and expiry (read-only).",
    example: "pyro workspace status WORKSPACE_ID --json",
  });
}

/** The subcommands the read path serves (src/cli/read-only.ts), each built on its own. */
const READ_ONLY_SUBCOMMANDS = new Map<string, (workspace: Command) => void>([
  ["status", registerStatusCommand],
  ["logs", registerLogsCommand],
  ["list", registerWorkspaceListCommand],
]);

interface CreateFlags extends SandboxFlags, SecretFlags, CreateLifeFlags {
  seedPath?: string;
  idOnly?: boolean;
  networkPolicy?: string;
  allowHost: string[];
}

function registerCreateCommand(workspace: Command): void {
  const create = workspace
    .command("create")
    .description(
      "Boot a sandbox, seed /workspace from --seed-path (directory or .tar/.tar.gz/.tgz) and store it as the baseline. Prints the workspace id.",
    )
    .argument("<environment>", "environment, e.g. debian:12")
    .option("--seed-path <path>", "host directory or archive to seed /workspace from")
    .option("--id-only", "print only the workspace id (for scripts: ID=$(pyro workspace create …))")
    .option(
      "--network-policy <policy>",
      "off (default: no network device), egress, or egress+published-ports (see docs/networking.md)",
    )
    .option(
      "--allow-host <PATTERN[:PORT]>",
      "a host the guest may reach: name, *.example.org, IP literal, host.pyro.internal:PORT for the host's loopback (repeatable; none: any public host)",
      collect,
      [],
    );
  addJsonOption(
    addCreateLifeOptions(addSecretOptions(addSandboxOptions(create, { timeout: false }))),
  );
  withExample(
    create,
    "pyro workspace create debian:12 --seed-path ./repo --allow-host-compat",
    "pyro workspace create debian:12 --name api-fix --label project=api --ttl-seconds 3600",
    "pyro workspace create debian:12 --network-policy egress --allow-host registry.npmjs.org",
    "pyro workspace create debian:12 --secret-file NPM_TOKEN=$HOME/.npm-token",
    "ID=$(pyro workspace create debian:12 --allow-host-compat --id-only)",
  );
  create.action(createWorkspace);
}

async function createWorkspace(environment: string, options: CreateFlags): Promise<void> {
  const secrets = parseFlags(options, () => secretsFromFlags(options));
  if (!secrets) return;
  const life = createLifeInput(options);
  if (life === null) return;
  await runOperation(
    "workspace_create",
    {
      environment,
      seed_path: options.seedPath,
      ...sandboxInput(options),
      ...life,
      secrets: secrets.value,
      network_policy: options.networkPolicy,
      allow_hosts: options.allowHost.length > 0 ? options.allowHost : undefined,
    },
    options,
    idOnlyPrinter(options, "workspace_id"),
  );
}

function registerSyncCommands(workspace: Command): void {
  const sync = workspace.command("sync").description("Copy host files into a workspace.");
  withExample(sync, "pyro workspace sync push WORKSPACE_ID ./src --dest /workspace/src");
  const push = sync
    .command("push")
    .description("Copy a host directory or archive into the workspace under --dest.")
    .argument("<workspace_id>", "workspace id")
    .argument("<source_path>", "host directory or .tar/.tar.gz/.tgz archive")
    .option("--dest <path>", "destination inside /workspace (default /workspace)");
  addJsonOption(push);
  withExample(push, "pyro workspace sync push WORKSPACE_ID ./patches.tar.gz --dest /workspace");
  push.action((id: string, source: string, options: JsonOption & { dest?: string }) =>
    runOperation(
      "workspace_sync_push",
      { workspace_id: id, source_path: source, dest: options.dest },
      options,
    ),
  );
}

function registerExportCommand(workspace: Command): void {
  const exportCommand = workspace
    .command("export")
    .description("Copy a file or directory from /workspace to a host path that must not exist.")
    .argument("<workspace_id>", "workspace id")
    .argument("<path>", "path under /workspace")
    .requiredOption("--output <host_path>", "exact host path to create");
  addJsonOption(exportCommand);
  withExample(
    exportCommand,
    "pyro workspace export WORKSPACE_ID dist --output ./dist-from-sandbox",
  );
  exportCommand.action((id: string, guestPath: string, options: JsonOption & { output: string }) =>
    runOperation(
      "workspace_export",
      { workspace_id: id, path: guestPath, output_path: options.output },
      options,
    ),
  );
}

function registerResetCommand(workspace: Command): void {
  const reset = workspace
    .command("reset")
    .description(
      "Throw the sandbox away, boot a fresh one and restore /workspace from a snapshot (default baseline).",
    )
    .argument("<workspace_id>", "workspace id")
    .option("--snapshot <name>", "snapshot to restore (default baseline)");
  addJsonOption(reset);
  withExample(reset, "pyro workspace reset WORKSPACE_ID --snapshot green");
  reset.action((id: string, options: JsonOption & { snapshot?: string }) =>
    runOperation("workspace_reset", { workspace_id: id, snapshot: options.snapshot }, options),
  );
}

/** `pyro workspace network-log ID`: connections the guest's network policy refused. */
function registerNetworkLogCommand(workspace: Command): void {
  const networkLog = workspace
    .command("network-log")
    .description(
      "Show the connections the workspace's network policy refused (host, port, reason, time), oldest first.",
    )
    .argument("<workspace_id>", "workspace id")
    .option("--tail <n>", "only the last N entries", numberFlag);
  addJsonOption(networkLog);
  withExample(networkLog, "pyro workspace network-log WORKSPACE_ID --tail 20");
  networkLog.action((id: string, options: JsonOption & { tail?: number | string }) =>
    runOperation("workspace_network_log", { workspace_id: id, tail: options.tail }, options),
  );
}

/** A `workspace VERB ID` command that maps straight onto one operation. */
function idCommand(
  parent: Command,
  verb: string,
  spec: { operation: string; description: string; example: string; human?: typeof printDiff },
): void {
  const command = parent
    .command(verb)
    .description(spec.description)
    .argument("<workspace_id>", "workspace id");
  addJsonOption(command);
  withExample(command, spec.example);
  command.action((id: string, options: JsonOption) =>
    runOperation(spec.operation, { workspace_id: id }, options, spec.human),
  );
}

function printDiff(result: {
  changed: boolean;
  patch: string;
  summary: { total: number; added: number; modified: number; deleted: number };
}): void {
  process.stdout.write(result.patch);
  const { total, added, modified, deleted } = result.summary;
  process.stderr.write(
    result.changed
      ? `${total} changed: ${added} added, ${modified} modified, ${deleted} deleted\n`
      : "no changes since the baseline\n",
  );
}

function registerSnapshotCommands(workspace: Command): void {
  const snapshot = workspace
    .command("snapshot")
    .description("Named snapshots of /workspace that reset can restore.");
  withExample(snapshot, "pyro workspace snapshot create WORKSPACE_ID green");

  const create = snapshot
    .command("create")
    .description("Save the current /workspace as a named snapshot.")
    .argument("<workspace_id>", "workspace id")
    .argument("<name>", "snapshot name, ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
  addJsonOption(create);
  withExample(create, "pyro workspace snapshot create WORKSPACE_ID green");
  create.action((id: string, name: string, options: JsonOption) =>
    runOperation("snapshot_create", { workspace_id: id, snapshot_name: name }, options),
  );

  const list = snapshot
    .command("list")
    .description("List snapshots, baseline first.")
    .argument("<workspace_id>", "workspace id");
  addJsonOption(list);
  withExample(list, "pyro workspace snapshot list WORKSPACE_ID");
  list.action((id: string, options: JsonOption) =>
    runOperation("snapshot_list", { workspace_id: id }, options),
  );

  const remove = snapshot
    .command("delete")
    .description("Delete a named snapshot (the baseline cannot be deleted).")
    .argument("<workspace_id>", "workspace id")
    .argument("<name>", "snapshot name");
  addJsonOption(remove);
  withExample(remove, "pyro workspace snapshot delete WORKSPACE_ID green");
  remove.action((id: string, name: string, options: JsonOption) =>
    runOperation("snapshot_delete", { workspace_id: id, snapshot_name: name }, options),
  );
}
