import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { WorkspaceRecordSchema } from "../store/records.js";
import { diffStatus, diffSummary } from "./results.js";

/** workspace_summary's result (src/core/summary.ts builds it). */
export const workspaceSummary = lazy(() =>
  z.object({
    workspace_id: z.string(),
    state: WorkspaceRecordSchema().shape.state,
    since: z
      .object({
        kind: z.enum(["created", "reset"]),
        at: z.number().describe("Seconds since the epoch."),
        snapshot_name: z.string().nullable().describe("The snapshot the last reset restored."),
      })
      .describe("What the summary covers: since creation, or since the last reset."),
    reset_count: z.number().int(),
    commands: z.object({
      count: z.number().int().describe("Commands in the log since `since`."),
      dropped_count: z.number().int().describe("Older ones log rotation dropped."),
      failed_count: z.number().int().describe("Listed entries with a non-zero exit_code."),
      omitted_count: z.number().int().describe("Older commands not listed (see workspace_logs)."),
      entries: z.array(
        z.object({
          sequence: z.number().int(),
          command: z.string().describe("The command line, cut at 200 characters."),
          exit_code: z.number().int(),
          duration_ms: z.number(),
          timed_out: z.boolean(),
          cancelled: z.boolean(),
        }),
      ),
      running: z.array(
        z.object({ command_id: z.string(), command: z.string(), started_at: z.number() }),
      ),
    }),
    changes: z.object({
      available: z.boolean(),
      reason: z.string().nullable().describe("Why changes are unknown (e.g. not started)."),
      summary: diffSummary().nullable(),
      files: z.array(z.object({ path: z.string(), status: diffStatus() })),
      omitted_count: z.number().int(),
    }),
    snapshots: z.array(z.object({ snapshot_name: z.string(), created_at: z.number() })),
    services: z.array(
      z.object({
        service_name: z.string(),
        state: z.enum(["starting", "running", "exited", "stopped", "failed"]),
        command: z.string(),
      }),
    ),
    events: z.object({
      count: z.number().int(),
      omitted_count: z.number().int(),
      entries: z.array(
        z.object({
          kind: z.string().describe("sync_push, export, snapshot_create, snapshot_delete, ..."),
          at: z.number(),
          detail: z.string(),
        }),
      ),
    }),
  }),
);

const time = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** A few lines per part; empty parts are one line or none. */
export function renderSummary(summary: z.output<ReturnType<typeof workspaceSummary>>): string {
  const { commands, changes, events } = summary;
  const since =
    summary.since.kind === "reset"
      ? `reset #${summary.reset_count} to ${summary.since.snapshot_name} at ${time(summary.since.at)}`
      : `creation at ${time(summary.since.at)}`;
  const lines = [`workspace ${summary.workspace_id} ${summary.state}; since ${since}`];
  lines.push(
    `commands: ${commands.count}` +
      (commands.omitted_count > 0 ? ` (newest ${commands.entries.length} shown)` : "") +
      (commands.failed_count > 0 ? `, ${commands.failed_count} failed` : ""),
  );
  for (const entry of commands.entries) {
    const notes = `${entry.timed_out ? " timed out" : ""}${entry.cancelled ? " cancelled" : ""}`;
    lines.push(`  #${entry.sequence} exit ${entry.exit_code}${notes}  ${entry.command}`);
  }
  for (const each of commands.running) lines.push(`  running ${each.command_id}  ${each.command}`);
  if (!changes.available) lines.push(`changes: unknown (${changes.reason})`);
  else if (!changes.summary || changes.summary.total === 0)
    lines.push("changes: none since the baseline");
  else {
    const { total, added, modified, deleted } = changes.summary;
    lines.push(`changes: ${total} (${added} added, ${modified} modified, ${deleted} deleted)`);
    for (const file of changes.files) lines.push(`  ${file.status.padEnd(12)} ${file.path}`);
    if (changes.omitted_count > 0) lines.push(`  … ${changes.omitted_count} more (workspace_diff)`);
  }
  if (summary.snapshots.length > 0)
    lines.push(`snapshots: ${summary.snapshots.map((s) => s.snapshot_name).join(", ")}`);
  if (summary.services.length > 0)
    lines.push(
      `services: ${summary.services.map((s) => `${s.service_name} (${s.state})`).join(", ")}`,
    );
  if (events.count > 0) {
    lines.push(`events: ${events.count}${events.omitted_count > 0 ? " (newest shown)" : ""}`);
    for (const event of events.entries)
      lines.push(`  ${time(event.at)} ${event.kind} ${event.detail}`);
  }
  return lines.join("\n");
}
