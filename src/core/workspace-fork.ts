/**
 * workspace_fork (issue 11): N new workspaces from one point of a source workspace (a named
 * snapshot, or /workspace as it is now). Each fork has its own id and its own fresh sandbox
 * (on QEMU a template restore: new RNG, clock, identity), the source's environment, shape,
 * network policy, idle timeout, secrets and labels, a /workspace equal to the point, and the source's
 * baseline (so its diff shows what changed since the original seed and its reset to
 * baseline gives the source's seed); no named snapshots, an empty command log, and
 * `forked_from` naming where it came from. Forks share nothing writable with the source or
 * each other (the baseline is hard-linked: it is never written in place).
 *
 * All or nothing: the N forks claim their N slots of the max-active limit together, are
 * made as creates are (a directory under its held lock, not listed until its record is
 * written; after a kill -9 the reaper sweeps what it runs: reap-loop.ts reapOrphan), and
 * their records are written only once every fork is ready. Any failure destroys every
 * fork made so far.
 */
import fs from "node:fs/promises";
import path from "node:path";

import { PyroError, StateError } from "../errors.js";
import { checkIntRange, LIMITS } from "../shared/limits.js";
import { tryLock } from "../store/lock.js";
import { SCHEMA_VERSION, type WorkspaceRecord } from "../store/records.js";
import { claimActiveSlots } from "./active-slots.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { prepareForkWorkspace, sealForkPoint } from "./fork-point.js";
import { reportProgress, type ProgressOptions } from "./progress.js";
import { newId, saveWorkspace } from "./records-io.js";
import { destroyRuntime, removeTree } from "./sandbox.js";
import { copySecrets } from "./secrets.js";
import { snapshotArchiveFor } from "./snapshots.js";
import { requireVolumePoint, usesVolume } from "./volume-snapshots.js";
import { touchActivity, writeActivity } from "./workspace-expiry.js";
import {
  assertNameFree,
  checkLabelCount,
  checkLabels,
  checkWorkspaceName,
  withUniqueNames,
} from "./workspace-names.js";
import { refreshWorkspace, requireBaseline } from "./workspace-ops.js";

/** Forks booted at once: on QEMU each is a template restore, CPU-bound under TCG. */
const FORK_CONCURRENCY = 4;

export interface ForkWorkspaceInput {
  /** A snapshot of the source (or `baseline`); default: /workspace as it is now. */
  snapshot?: string;
  count?: number;
  /** The fork's unique name; with count > 1 the forks are NAME-1 … NAME-N. */
  name?: string;
  /** Added to (and overriding) the labels the forks inherit from the source. */
  labels?: Record<string, string>;
}

/** The forks as `view` shows each (a just-booted workspace's view), after their point. */
export async function forkWorkspace<View>(
  context: ManagerContext,
  id: string,
  input: ForkWorkspaceInput,
  options: ProgressOptions | undefined,
  view: (fork: WorkspaceRecord) => View,
) {
  const { source, snapshotName, forks } = await makeForks(context, id, input, options);
  const workspaces = forks.map(view);
  return {
    workspace_id: source.workspace_id,
    snapshot_name: snapshotName,
    count: workspaces.length,
    workspaces,
  };
}

async function makeForks(
  context: ManagerContext,
  id: string,
  input: ForkWorkspaceInput,
  options?: ProgressOptions,
): Promise<{ source: WorkspaceRecord; snapshotName: string | null; forks: WorkspaceRecord[] }> {
  const { min, max, default: one } = LIMITS.forkCount;
  const count = checkIntRange("count", input.count ?? one, min, max);
  const source = await refreshWorkspace(context, id);
  await requireBaseline(context, source, "workspace_fork");
  const snapshotName = input.snapshot ?? null;
  if (snapshotName === null) assertForkableNow(source);
  // A missing or damaged snapshot fails before anything is made.
  const snapshot =
    snapshotName === null
      ? null
      : {
          name: snapshotName,
          // A volume's snapshot is a point of its disk, cloned rather than extracted.
          archive: usesVolume(source)
            ? await requireVolumePoint(context, source, snapshotName).then(() => null)
            : await snapshotArchiveFor(context, source, snapshotName),
        };
  const forks = forkRecords(source, input, count, snapshotName);
  for (const fork of forks) if (fork.name) await assertNameFree(context, fork.name, null);

  const release = await lockForks(context, forks);
  let claimed = false;
  try {
    reportProgress(options, `claiming ${count} sandbox slot(s)`, 0, 3);
    await claimActiveSlots(context, count, async () => {
      claimed = true; // from here on the directories may exist: the cleanup removes them
      for (const fork of forks) await fs.mkdir(dirOf(context, fork), { recursive: true });
    });
    const staging = path.join(dirOf(context, forks[0] as WorkspaceRecord), "staging");
    const point = await sealForkPoint(
      context,
      source.workspace_id,
      snapshot,
      idsOf(forks),
      staging,
    );
    reportProgress(options, `booting ${count} sandbox(es) with /workspace from the point`, 1, 3);
    await eachBounded(forks, FORK_CONCURRENCY, async (fork) => {
      await copySecrets(context, source.workspace_id, fork.workspace_id);
      await writeActivity(context.layout, fork);
      await prepareForkWorkspace(context, point, fork);
    });
    reportProgress(options, "saving the forks", 2, 3);
    await fs.rm(staging, { recursive: true, force: true });
    await withUniqueNames(context, forks, async () => {
      for (const fork of forks) {
        fork.state = "started";
        await saveWorkspace(context.layout, fork);
      }
    });
    for (const fork of forks) touchActivity(context.layout, fork.workspace_id);
    return { source, snapshotName, forks };
  } catch (error) {
    if (claimed) await abandonForks(context, forks);
    throw error;
  } finally {
    await release();
  }
}

/** A fork of "now" reads the running source; a stopped one can still fork a snapshot. */
function assertForkableNow(source: WorkspaceRecord): void {
  if (source.state === "started" && source.runtime) return;
  throw new StateError(
    `workspace '${source.workspace_id}' is '${source.state}': forking /workspace as it is now needs it started; start it (workspace_start), or pass snapshot to fork one of its snapshots without starting it`,
    {
      workspace_id: source.workspace_id,
      state: source.state,
      field: "snapshot",
      ...(source.state === "stopped" ? { reason: "workspace_stopped" } : {}),
    },
  );
}

/** The forks' records, validated (names, labels) before anything exists. */
function forkRecords(
  source: WorkspaceRecord,
  input: ForkWorkspaceInput,
  count: number,
  snapshotName: string | null,
): WorkspaceRecord[] {
  // The source's idle timeout (workspace_update changes a fork's).
  const ttl = source.ttl_seconds;
  const labels = { ...(source.labels ?? {}), ...(input.labels ? checkLabels(input.labels) : {}) };
  checkLabelCount(Object.keys(labels).length);
  const base = input.name === undefined ? null : checkWorkspaceName(input.name);
  const created = nowSeconds();
  // A hard expiry is a policy of the source: each fork gets the same lifetime from its own creation.
  const hard = source.hard_expires_at ?? null;
  const lifetime = hard === null ? null : Math.max(0, hard - source.created_at);
  return Array.from({ length: count }, (_, index): WorkspaceRecord => ({
    kind: "workspace",
    workspace_id: newId(),
    state: "stopped",
    schema_version: SCHEMA_VERSION,
    environment: source.environment,
    backend: source.backend,
    vcpu_count: source.vcpu_count,
    mem_mib: source.mem_mib,
    ttl_seconds: ttl,
    allow_host_compat: source.allow_host_compat,
    created_at: created,
    expires_at: created + ttl,
    execution_mode: source.execution_mode,
    last_error: null,
    network_requested: source.network_requested,
    runtime: null,
    network_policy: source.network_policy,
    allow_hosts: source.allow_hosts,
    workspace_seed: source.workspace_seed,
    command_count: 0,
    last_command: null,
    reset_count: 0,
    workspace_reset: null,
    secrets: source.secrets ?? [],
    name: base === null ? null : checkWorkspaceName(count === 1 ? base : `${base}-${index + 1}`),
    labels,
    hard_expires_at: lifetime === null ? null : created + lifetime,
    stopped_at: null,
    forked_from: { workspace_id: source.workspace_id, snapshot_name: snapshotName },
    ...(usesVolume(source) ? { workspace_volume: true } : {}),
  }));
}

/** Each new fork's lock, held until its record is written (or it is removed). */
async function lockForks(
  context: ManagerContext,
  forks: readonly WorkspaceRecord[],
): Promise<() => Promise<void>> {
  const releases: Array<() => Promise<void>> = [];
  const releaseAll = async (): Promise<void> => {
    for (const release of releases.splice(0)) await release().catch(() => undefined);
  };
  for (const fork of forks) {
    const release = await tryLock(context.layout.lockFile("workspace", fork.workspace_id));
    if (!release) {
      await releaseAll();
      throw new PyroError("internal", `the new workspace id '${fork.workspace_id}' is locked`);
    }
    releases.push(release);
  }
  return releaseAll;
}

/** Runs `work` on every item, at most `limit` at once; after a failure starts no more, waits for those running, and throws the first failure. */
async function eachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const item = items[next++] as T;
      await work(item).catch((error: unknown) => {
        failure ??= { error };
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

/** Destroys what every fork runs and removes its directory (records were never written). */
async function abandonForks(context: ManagerContext, forks: readonly WorkspaceRecord[]) {
  await Promise.all(
    forks.map(async (fork) => {
      await destroyRuntime(context, fork).catch(() => undefined);
      await removeTree(dirOf(context, fork));
    }),
  );
}

function dirOf(context: ManagerContext, fork: WorkspaceRecord): string {
  return context.layout.workspaceDir(fork.workspace_id);
}

function idsOf(forks: readonly WorkspaceRecord[]): string[] {
  return forks.map((fork) => fork.workspace_id);
}
