/**
 * A small per-workspace journal of what changed a workspace besides its commands (those are
 * in the command log): syncs, exports, snapshots, services. workspace_summary reads it to
 * tell a model or a person coming back what happened since the last reset.
 *
 * Bounded: the file is cut to its newest MAX_EVENTS lines when it passes MAX_BYTES. It is a
 * review aid, not a record of truth: an event is appended after its operation succeeded, a
 * failed append never fails the operation, and two processes cutting the file at the same
 * moment may lose an event.
 */
import fs from "node:fs/promises";
import path from "node:path";

import { writeFileAtomic } from "../store/atomic.js";
import type { StateLayout } from "../store/layout.js";
import { nowSeconds } from "./context.js";

type WorkspaceEventKind =
  "sync_push" | "export" | "snapshot_create" | "snapshot_delete" | "service_start" | "service_stop";

interface WorkspaceEvent {
  kind: WorkspaceEventKind;
  /** Seconds since the epoch. */
  at: number;
  /** One short line: what, from where, to where. */
  detail: string;
}

const MAX_EVENTS = 200;
const MAX_BYTES = 64 * 1024;
/** Longest detail kept (host paths can be long). */
const MAX_DETAIL_CHARS = 300;

function eventsFile(layout: StateLayout, workspaceId: string): string {
  return path.join(layout.workspaceDir(workspaceId), "logs", "events.jsonl");
}

/** Appends an event; never throws (the operation it records has already succeeded). */
export async function recordEvent(
  layout: StateLayout,
  workspaceId: string,
  kind: WorkspaceEventKind,
  detail: string,
): Promise<void> {
  const file = eventsFile(layout, workspaceId);
  const event: WorkspaceEvent = {
    kind,
    at: nowSeconds(),
    detail: detail.length > MAX_DETAIL_CHARS ? `${detail.slice(0, MAX_DETAIL_CHARS)}…` : detail,
  };
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    // One write with O_APPEND: concurrent appenders do not interleave within a line.
    await fs.appendFile(file, `${JSON.stringify(event)}\n`);
    const { size } = await fs.stat(file);
    if (size > MAX_BYTES) {
      const lines = (await fs.readFile(file, "utf8")).split("\n").filter((line) => line !== "");
      await writeFileAtomic(file, `${lines.slice(-MAX_EVENTS).join("\n")}\n`);
    }
  } catch {
    // A journal that cannot be written (disk full, workspace deleted meanwhile) loses the event.
  }
}

/** Events at or after `since` (seconds), oldest first; unreadable lines are skipped. */
export async function readEvents(
  layout: StateLayout,
  workspaceId: string,
  since: number,
): Promise<Array<{ kind: string; at: number; detail: string }>> {
  const text = await fs.readFile(eventsFile(layout, workspaceId), "utf8").catch(() => "");
  const events: Array<{ kind: string; at: number; detail: string }> = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      const event = JSON.parse(line) as Partial<WorkspaceEvent>;
      if (
        typeof event.kind === "string" &&
        typeof event.at === "number" &&
        typeof event.detail === "string" &&
        event.at >= since
      ) {
        events.push({ kind: event.kind, at: event.at, detail: event.detail });
      }
    } catch {
      // A torn line (a crash mid-append): skipped.
    }
  }
  return events;
}
