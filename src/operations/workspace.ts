import { z } from "zod";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { vmCreateInput } from "./vm.js";

export const workspaceOperations = [
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
