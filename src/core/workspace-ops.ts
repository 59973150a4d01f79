import fs from "node:fs/promises";
import path from "node:path";

import { normalizeGuestPath } from "../shared/guest-paths.js";
import { PyroError, StateError, ValidationError } from "../errors.js";
import { sweepDeadTemps, tempSibling } from "../store/atomic.js";
import { lockHolderAlive } from "../store/lock.js";
import type { WorkspaceRecord } from "../store/records.js";
import { readCommands } from "./command-log.js";
import type { ManagerContext } from "./context.js";
import { checkHostPath } from "../shared/limits.js";
import { loadWorkspace, updateWorkspace, withWorkspaceLock } from "./records-io.js";
import { deadRuntimeMessage, destroyRuntime, removeTree, runtimeIsDead } from "./sandbox.js";
import { downloadArchive, resolveSource, uploadSource } from "./workspace-create.js";
import { recordEvent } from "./workspace-events.js";
import { isExpired } from "./workspace-expiry.js";
import { settleLifecycle } from "./workspace-settle.js";

/**
 * Loads a workspace and reconciles it with reality: an expired workspace is deleted and
 * reported as such; a record that claims a running
 * sandbox whose process is gone becomes `stopped` with a last_error saying so.
 */
export async function refreshWorkspace(
  context: ManagerContext,
  id: string,
): Promise<WorkspaceRecord> {
  const record = await loadWorkspace(context.layout, id);
  await sweepWorkspaceTemps(context, record.workspace_id);
  if (await isExpired(context, record)) {
    // Idle past its TTL (or past its hard expiry) the sandbox has already stopped itself;
    // the workspace goes with it.
    await deleteWorkspace(context, record.workspace_id).catch(() => undefined);
    throw new PyroError(
      "expired",
      `workspace '${record.workspace_id}' expired and was automatically deleted`,
      { workspace_id: record.workspace_id },
    );
  }
  if (record.state === "resetting") return settleReset(context, record);
  if (record.state === "stopping" || record.state === "starting") {
    return settleLifecycle(context, record);
  }
  if (!runtimeIsDead(context, record)) return record;
  const { record: updated } = await updateWorkspace(context.layout, id, async (current) => {
    if (!runtimeIsDead(context, current) || !current.runtime) return;
    current.last_error = await deadRuntimeMessage(context, current, current.runtime);
    await destroyRuntime(context, current);
    current.state = "stopped";
  });
  return updated;
}

/**
 * Staged uploads and exports, snapshot and baseline temps, record temps: whatever a
 * process killed mid-write left behind (its pid and start time are in the name).
 */
async function sweepWorkspaceTemps(context: ManagerContext, id: string): Promise<void> {
  const dir = context.layout.workspaceDir(id);
  const dirs = [dir, path.join(dir, "staging"), context.layout.snapshotsDir(id)];
  dirs.push(path.dirname(context.layout.baselineArchive(id)));
  dirs.push(path.dirname(context.layout.commandLog(id)));
  for (const each of dirs) await sweepDeadTemps(each);
}

/**
 * A `resetting` record is true while a live process holds the workspace's lock. Once that
 * holder is gone (kill -9 mid-reset), the workspace is stopped: whatever the dead reset
 * booted is swept, and last_error says to reset again.
 */
async function settleReset(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<WorkspaceRecord> {
  const lockPath = context.layout.lockFile("workspace", record.workspace_id);
  if ((await lockHolderAlive(lockPath)) === true) return record;
  const { record: updated } = await updateWorkspace(
    context.layout,
    record.workspace_id,
    async (current) => {
      if (current.state !== "resetting") return;
      await destroyRuntime(context, current);
      current.state = "stopped";
      current.last_error =
        "a reset was interrupted before it finished (the process running it ended); reset the workspace again";
    },
  );
  return updated;
}

/** Throws unless the record says its sandbox is running (no liveness probe, no lock). */
export function assertStarted(record: WorkspaceRecord, operation: string): void {
  if (record.state !== "started" || !record.runtime) {
    const reason = record.last_error ? ` (${record.last_error})` : "";
    // A stopped workspace names its next step (the message is all a model may read).
    const next =
      record.state === "stopped"
        ? "; start it with workspace_start (CLI: pyro workspace start ID), or workspace_reset to restore a snapshot"
        : "";
    throw new StateError(
      `workspace '${record.workspace_id}' must be in 'started' state before ${operation}; it is '${record.state}'${reason}${next}`,
      {
        workspace_id: record.workspace_id,
        state: record.state,
        ...(record.state === "stopped" ? { reason: "workspace_stopped" } : {}),
      },
    );
  }
}

/** Loads a workspace that must be running for `operation`. Takes the lock only to record a death. */
export async function requireStarted(
  context: ManagerContext,
  id: string,
  operation: string,
): Promise<WorkspaceRecord> {
  const record = await refreshWorkspace(context, id);
  assertStarted(record, operation);
  return record;
}

export interface LogsWorkspaceInput {
  /** Only the last `tail` entries (after the cursor). */
  tail?: number;
  /** Cursor: only entries with a greater sequence number. */
  after_sequence?: number;
  /** At most `limit` entries (the first ones after the cursor). */
  limit?: number;
}

export async function logsWorkspace(
  context: ManagerContext,
  id: string,
  input: LogsWorkspaceInput = {},
) {
  const record = await loadWorkspace(context.layout, id);
  const page = await readCommands(context.layout.commandLog(record.workspace_id), {
    tail: input.tail ?? undefined,
    afterSequence: input.after_sequence ?? undefined,
    limit: input.limit ?? undefined,
  });
  const entries = page.entries.map((entry) => ({
    ...entry,
    stdout_truncated: entry.stdout_truncated ?? false,
    stderr_truncated: entry.stderr_truncated ?? false,
  }));
  const last = entries.at(-1);
  return {
    workspace_id: record.workspace_id,
    count: entries.length,
    entries,
    total_count: page.available,
    dropped_count: page.dropped,
    skipped_corrupt_lines: page.skippedCorrupt,
    has_more: page.hasMore,
    next_after_sequence: last ? last.sequence : (input.after_sequence ?? 0),
  };
}

export async function deleteWorkspace(context: ManagerContext, id: string) {
  const record = await loadWorkspace(context.layout, id);
  await withWorkspaceLock(context.layout, record.workspace_id, async () => {
    const current = await loadWorkspace(context.layout, id);
    await context.beforeDestroy(current);
    await destroyRuntime(context, current);
    await removeTree(context.layout.workspaceDir(current.workspace_id));
  });
  return { workspace_id: record.workspace_id, deleted: true };
}

export async function pushWorkspaceSync(
  context: ManagerContext,
  id: string,
  input: { source_path: string; dest?: string },
) {
  const rawDest = input.dest ?? "/workspace";
  let destination: string;
  try {
    destination = normalizeGuestPath(rawDest, "dest");
  } catch {
    throw new ValidationError(`workspace destination must stay inside /workspace: '${rawDest}'`, {
      field: "dest",
      value: rawDest,
    });
  }
  const source = await resolveSource(input.source_path, "source_path");
  const record = await requireStarted(context, id, "workspace_sync_push");
  const staging = path.join(context.layout.workspaceDir(record.workspace_id), "staging");
  const written = await uploadSource(context, record, source, destination, staging, {
    fresh: false,
  });
  await recordEvent(
    context.layout,
    record.workspace_id,
    "sync_push",
    `${written.entry_count} entries from ${source.sourcePath} to ${destination}`,
  );
  return {
    workspace_id: record.workspace_id,
    workspace_sync: {
      mode: source.mode,
      source_path: source.sourcePath,
      destination,
      entry_count: written.entry_count,
      bytes_written: written.bytes_written,
    },
  };
}

export async function requireBaseline(
  context: ManagerContext,
  record: WorkspaceRecord,
  operation: string,
): Promise<string> {
  const baseline = context.layout.baselineArchive(record.workspace_id);
  const stat = await fs.stat(baseline).catch(() => null);
  if (!stat?.isFile()) {
    throw new StateError(
      `${operation} requires a baseline snapshot, but workspace '${record.workspace_id}' has none (was it created by an older pyro?)`,
      { workspace_id: record.workspace_id },
    );
  }
  return baseline;
}

export async function exportWorkspace(
  context: ManagerContext,
  id: string,
  input: { path: string; output_path: string },
) {
  const guestPath = normalizeGuestPath(input.path, "path");
  checkHostPath("output_path", input.output_path);
  const outputPath = path.resolve(input.output_path);
  if (await fs.lstat(outputPath).catch(() => null)) {
    throw new PyroError("already_exists", `output_path already exists: '${outputPath}'`, {
      field: "output_path",
    });
  }
  const record = await requireStarted(context, id, "workspace_export");
  const staging = tempSibling(
    path.join(context.layout.workspaceDir(record.workspace_id), "staging", "export.tar"),
  );
  try {
    const exported = await downloadArchive(context, record, guestPath, staging);
    const { extractExport } = await import("../archive/index.js"); // loaded on first use
    const extracted = await extractExport({
      file: staging,
      outputPath,
      artifactType: exported.artifact_type,
    });
    await recordEvent(
      context.layout,
      record.workspace_id,
      "export",
      `${guestPath} to ${extracted.output_path}`,
    );
    return {
      workspace_id: record.workspace_id,
      workspace_path: guestPath,
      output_path: extracted.output_path,
      artifact_type: extracted.artifact_type,
      entry_count: exported.entry_count,
    };
  } finally {
    await fs.rm(staging, { force: true });
  }
}
