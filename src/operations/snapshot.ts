import { z } from "zod";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { renderWorkspace, snapshotInfo, workspaceResult } from "./results.js";

/** Named snapshots of /workspace and the reset that restores one (src/core/snapshots.ts). */
export const snapshotOperations = [
  defineOperation({
    name: "snapshot_create",
    method: "createSnapshot",
    title: "Create snapshot",
    effect: "write",
    description:
      "Save /workspace as a named snapshot for workspace_reset ('baseline' is reserved).",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        snapshot_name: fields.snapshot_name,
      }),
    output: () => z.object({ workspace_id: z.string(), snapshot: snapshotInfo() }),
    handler: (manager, input) => manager.createSnapshot(input.workspace_id, input.snapshot_name),
    render: ({ snapshot }) =>
      `snapshot ${snapshot.snapshot_name} saved (${snapshot.size_bytes} bytes)`,
  }),
  defineOperation({
    name: "snapshot_list",
    method: "listSnapshots",
    title: "List snapshots",
    effect: "read",
    description: "List a workspace's snapshots, the baseline first, then named ones by age.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () =>
      z.object({
        workspace_id: z.string(),
        count: z.number().int(),
        snapshots: z.array(snapshotInfo()),
      }),
    handler: (manager, input) => manager.listSnapshots(input.workspace_id),
    render: (result) =>
      result.snapshots
        .map(
          (snapshot) =>
            `${snapshot.snapshot_name.padEnd(20)} ${snapshot.kind.padEnd(8)} ${snapshot.size_bytes} bytes`,
        )
        .join("\n"),
  }),
  defineOperation({
    name: "snapshot_delete",
    method: "deleteSnapshot",
    title: "Delete snapshot",
    effect: "destructive",
    idempotent: true,
    description: "Delete a named snapshot. The baseline cannot be deleted.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        snapshot_name: fields.snapshot_name,
      }),
    output: () =>
      z.object({
        workspace_id: z.string(),
        snapshot_name: z.string(),
        deleted: z.boolean(),
      }),
    handler: (manager, input) => manager.deleteSnapshot(input.workspace_id, input.snapshot_name),
    render: (result) => `deleted snapshot ${result.snapshot_name}`,
  }),
  defineOperation({
    name: "workspace_reset",
    method: "resetWorkspace",
    title: "Reset workspace",
    effect: "destructive",
    description:
      "Boot a fresh sandbox with /workspace restored from a snapshot (default baseline); clears log, shells, services. Repairs a broken or stopped workspace.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        snapshot: z.string().describe("Snapshot to restore (default baseline).").optional(),
      }),
    output: () => workspaceResult(),
    handler: (manager, { workspace_id, ...input }, context) =>
      manager.resetWorkspace(workspace_id, input, context),
    render: renderWorkspace,
  }),
];
