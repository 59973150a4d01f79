import { z } from "zod";

import { defineOperation, type AnyOperation } from "./define.js";
import { fields } from "./fields.js";

const vmCreateInput = z.strictObject({
  environment: fields.environment,
  vcpu_count: fields.vcpu_count,
  mem_mib: fields.mem_mib,
  ttl_seconds: fields.ttl_seconds,
  network: fields.network,
  allow_host_compat: fields.allow_host_compat,
});

const vmOperations = [
  defineOperation({
    name: "vm_list_environments",
    method: "listEnvironments",
    description: "List the environments a VM or workspace can be created from.",
    input: z.strictObject({}),
    handler: async (manager) => manager.listEnvironments(),
  }),
  defineOperation({
    name: "vm_create",
    method: "createVm",
    description: "Create a one-shot VM (not started).",
    input: vmCreateInput,
    handler: (manager, input) => manager.createVm(input),
  }),
  defineOperation({
    name: "vm_start",
    method: "startVm",
    description: "Boot a created VM.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.startVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_exec",
    method: "execVm",
    description: "Run one command in a started VM, then delete the VM.",
    input: z.strictObject({
      vm_id: fields.vm_id,
      command: fields.command,
      timeout_seconds: fields.timeout_seconds,
    }),
    handler: (manager, input) => manager.execVm(input.vm_id, input),
  }),
  defineOperation({
    name: "vm_stop",
    method: "stopVm",
    description: "Stop a VM, keeping its record.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.stopVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_delete",
    method: "deleteVm",
    description: "Stop and delete a VM.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.deleteVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_status",
    method: "statusVm",
    description: "Show a VM's state.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.statusVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_network_info",
    method: "networkInfoVm",
    description: "Show a VM's network configuration.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.networkInfoVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_reap_expired",
    method: "reapExpired",
    description: "Delete expired VMs and workspaces, and records that are corrupt.",
    input: z.strictObject({}),
    handler: (manager) => manager.reapExpired(),
  }),
  defineOperation({
    name: "vm_run",
    method: "runInVm",
    description: "Create a VM, run one command in it and delete it.",
    input: vmCreateInput.extend({
      command: fields.command,
      timeout_seconds: fields.timeout_seconds,
    }),
    handler: (manager, input) => manager.runVm(input),
  }),
];

const workspaceOperations = [
  defineOperation({
    name: "workspace_create",
    method: "createWorkspace",
    description:
      "Create a persistent workspace, optionally seeded from a host directory or .tar/.tar.gz/.tgz archive; its /workspace becomes the diff baseline.",
    input: vmCreateInput.extend({
      seed_path: z
        .string()
        .describe("Host directory or archive to seed /workspace from.")
        .optional(),
    }),
    handler: (manager, input) => manager.createWorkspace(input),
  }),
  defineOperation({
    name: "workspace_exec",
    method: "execWorkspace",
    description:
      "Run a command in /workspace (or a cwd under it) and record it in the command log.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      command: fields.command,
      timeout_seconds: fields.timeout_seconds,
      cwd: z
        .string()
        .describe("Working directory under /workspace (default /workspace).")
        .optional(),
    }),
    handler: (manager, { workspace_id, ...input }) => manager.execWorkspace(workspace_id, input),
  }),
  defineOperation({
    name: "workspace_status",
    method: "statusWorkspace",
    description: "Show a workspace's state, command count, reset metadata and service counts.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    handler: (manager, input) => manager.statusWorkspace(input.workspace_id),
  }),
  defineOperation({
    name: "workspace_logs",
    method: "logsWorkspace",
    description: "Show the workspace's command log.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    handler: (manager, input) => manager.logsWorkspace(input.workspace_id),
  }),
  defineOperation({
    name: "workspace_sync_push",
    method: "pushWorkspaceSync",
    description:
      "Copy a host directory or archive into a started workspace under dest (default /workspace).",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      source_path: z.string().describe("Host directory or .tar/.tar.gz/.tgz archive."),
      dest: z.string().describe("Destination inside /workspace (default /workspace).").optional(),
    }),
    handler: (manager, { workspace_id, ...input }) =>
      manager.pushWorkspaceSync(workspace_id, input),
  }),
  defineOperation({
    name: "workspace_diff",
    method: "diffWorkspace",
    description:
      "Compare /workspace with the creation baseline: summary, entries and a unified patch.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    handler: (manager, input) => manager.diffWorkspace(input.workspace_id),
  }),
  defineOperation({
    name: "workspace_export",
    method: "exportWorkspace",
    description:
      "Copy one file or directory from /workspace to a host output_path that must not exist yet.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      path: z.string().describe("Path under /workspace."),
      output_path: z.string().describe("Exact host path to create."),
    }),
    handler: (manager, { workspace_id, ...input }) => manager.exportWorkspace(workspace_id, input),
  }),
  defineOperation({
    name: "snapshot_create",
    method: "createSnapshot",
    description: "Save the current /workspace as a named snapshot.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      snapshot_name: fields.snapshot_name,
    }),
    handler: (manager, input) => manager.createSnapshot(input.workspace_id, input.snapshot_name),
  }),
  defineOperation({
    name: "snapshot_list",
    method: "listSnapshots",
    description: "List snapshots, baseline first.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    handler: (manager, input) => manager.listSnapshots(input.workspace_id),
  }),
  defineOperation({
    name: "snapshot_delete",
    method: "deleteSnapshot",
    description: "Delete a named snapshot (the baseline cannot be deleted).",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      snapshot_name: fields.snapshot_name,
    }),
    handler: (manager, input) => manager.deleteSnapshot(input.workspace_id, input.snapshot_name),
  }),
  defineOperation({
    name: "workspace_reset",
    method: "resetWorkspace",
    description:
      "Destroy the sandbox, boot a fresh one and restore /workspace from a snapshot (default baseline); clears command history, shells and services.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      snapshot: z.string().describe("Snapshot to restore (default baseline).").optional(),
    }),
    handler: (manager, { workspace_id, ...input }) => manager.resetWorkspace(workspace_id, input),
  }),
  defineOperation({
    name: "workspace_delete",
    method: "deleteWorkspace",
    description: "Stop the sandbox and delete the workspace with all its snapshots.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    handler: (manager, input) => manager.deleteWorkspace(input.workspace_id),
  }),
];

export const operations: readonly AnyOperation[] = [
  ...vmOperations,
  ...workspaceOperations,
] as AnyOperation[];

export function findOperation(name: string): AnyOperation | undefined {
  return operations.find((operation) => operation.name === name);
}
