import { z } from "zod";

import { LIMITS } from "../shared/limits.js";
import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { workspaceResult } from "./results.js";
import { intBetween } from "./rules.js";

/** workspace_fork (issue 11): new workspaces from a point of one (src/core/workspace-fork.ts). */
export const forkOperations = [
  defineOperation({
    name: "workspace_fork",
    method: "forkWorkspace",
    title: "Fork workspace",
    effect: "write",
    description:
      "New workspaces from a snapshot (default: /workspace now), each a fresh sandbox keeping the source's baseline for diff and reset.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      snapshot: z.string().describe("Default: /workspace now.").optional(),
      count: intBetween(LIMITS.forkCount.min, LIMITS.forkCount.max).default(
        LIMITS.forkCount.default,
      ),
      name: z.string().describe("With count > 1: NAME-1..N.").optional(),
      labels: z.record(z.string(), z.string()).describe("Added to the source's.").optional(),
    }),
    output: z.object({
      workspace_id: z.string().describe("The source."),
      snapshot_name: z.string().nullable().describe("null: forked as it was at the call."),
      count: z.number().int(),
      workspaces: z.array(workspaceResult),
    }),
    handler: (manager, { workspace_id, ...input }, context) =>
      manager.forkWorkspace(workspace_id, input, context),
    render: (result) =>
      [
        `forked ${result.workspace_id} (${result.snapshot_name === null ? "as it is now" : `snapshot ${result.snapshot_name}`}) into ${result.count} workspace(s):`,
        ...result.workspaces.map(
          (fork) => `${fork.workspace_id}${fork.name === null ? "" : `  ${fork.name}`}`,
        ),
      ].join("\n"),
  }),
];
