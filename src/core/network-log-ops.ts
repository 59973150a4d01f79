import path from "node:path";

import { ValidationError } from "../errors.js";
import { NETWORK_LOG_FILE, readNetworkLog } from "../shared/network-log.js";
import type { ManagerContext } from "./context.js";
import { loadWorkspace } from "./records-io.js";
import { networkPolicyOf } from "./sandbox.js";

export interface NetworkLogInput {
  tail?: number;
}

/** The sandbox's network log file (written by its VM supervisor's egress proxy). */
export function networkLogFile(sandboxDir: string): string {
  return path.join(sandboxDir, NETWORK_LOG_FILE);
}

/**
 * workspace_network_log: the connections the guest's egress proxy refused (or could not
 * make), oldest first, so an agent can see why `npm install` failed.
 */
export async function networkLogWorkspace(
  context: ManagerContext,
  workspaceId: string,
  input: NetworkLogInput = {},
) {
  const record = await loadWorkspace(context.layout, workspaceId);
  if (
    input.tail !== undefined &&
    (!Number.isInteger(input.tail) || input.tail < 0 || input.tail > 10_000)
  ) {
    throw new ValidationError(`tail must be an integer from 0 to 10000, got ${input.tail}`, {
      field: "tail",
      value: input.tail,
    });
  }
  const { entries, skipped } = readNetworkLog(
    networkLogFile(context.layout.workspaceDir(record.workspace_id)),
  );
  const kept = input.tail === undefined ? entries : entries.slice(entries.length - input.tail);
  return {
    workspace_id: record.workspace_id,
    network_policy: networkPolicyOf(record),
    allow_hosts: record.allow_hosts ?? [],
    count: input.tail === 0 ? 0 : kept.length,
    total_count: entries.length,
    skipped_corrupt_lines: skipped,
    entries: input.tail === 0 ? [] : kept,
  };
}
