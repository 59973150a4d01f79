/**
 * Where a fork's /workspace comes from (workspace_fork, src/core/workspace-fork.ts): the
 * source's point (a named snapshot, or /workspace as it is now) and its baseline, and the
 * one step that turns a point into a fork's booted sandbox (prepareForkWorkspace: the seam
 * where block-level /workspace volumes plug in).
 */
import fs from "node:fs/promises";
import path from "node:path";

import { NotFoundError } from "../errors.js";
import type { WorkspaceRecord } from "../store/records.js";
import { importArchive } from "./archive-import.js";
import type { ManagerContext } from "./context.js";
import { QUOTAS, quotaError, quotaValue } from "./quotas.js";
import { loadWorkspace, withWorkspaceLock } from "./records-io.js";
import { backendOf, bootSandbox } from "./sandbox.js";
import { reconcileWorkspaceVolume, sealWorkspacePoint, usesVolume } from "./volume-snapshots.js";
import { downloadArchive } from "./workspace-create.js";
import { assertStarted, requireBaseline } from "./workspace-ops.js";

/** The source point every fork of one call starts from. */
interface ForkPoint {
  sourceId: string;
  /** The snapshot forked from; null: the source's /workspace as it was at the fork. */
  snapshotName: string | null;
  /**
   * The point as a tar archive (the generic path). Made on the first call and shared by
   * every fork of the call, so N forks of "now" read one and the same tree.
   */
  archive: () => Promise<string>;
  /** Each fork already has the point as its own volume (cloneVolume): boot on it. */
  volume: boolean;
}

/**
 * A hard link: a baseline and a snapshot archive are never written in place (each is
 * replaced whole, or removed), so sharing the inode shares nothing writable. A copy where
 * the filesystem refuses links.
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  await fs.link(from, to).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") throw error;
    await fs.copyFile(from, to, fs.constants.COPYFILE_FICLONE);
  });
}

/**
 * Fixes the point under the source's lock (no reset, snapshot delete or workspace delete
 * of the source runs meanwhile): every fork gets the source's baseline (archive and
 * manifest), so its diff and its reset to baseline are the source's; a named snapshot's
 * archive is linked into `staging` (deleting the snapshot later does not touch it). A
 * point of "now" is exported on first use (point.archive), under the lock again.
 * `snapshotArchive` is the archive snapshotArchiveFor checked before anything was made.
 */
export async function sealForkPoint(
  context: ManagerContext,
  sourceId: string,
  snapshot: { name: string; archive: string | null } | null,
  forkIds: readonly string[],
  staging: string,
): Promise<ForkPoint> {
  return withWorkspaceLock(context.layout, sourceId, async () => {
    const source = await loadWorkspace(context.layout, sourceId);
    const baseline = await requireBaseline(context, source, "workspace_fork");
    const manifest = path.join(path.dirname(baseline), "manifest.ndjson");
    for (const id of forkIds) {
      const target = context.layout.baselineArchive(id);
      await linkOrCopy(baseline, target);
      // The manifest after the archive (it is trusted only if not older); one missing (an
      // older workspace) is computed by the fork's first diff.
      await linkOrCopy(manifest, path.join(path.dirname(target), "manifest.ndjson")).catch(
        () => undefined,
      );
    }
    if (usesVolume(source))
      return cloneVolumePoint(context, source, snapshot?.name ?? null, forkIds);
    if (snapshot?.archive) {
      const copy = path.join(staging, "point.tar");
      await linkOrCopy(snapshot.archive, copy).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
        throw new NotFoundError(
          `snapshot '${snapshot.name}' does not exist in workspace '${sourceId}' (deleted while the fork began)`,
          { snapshot_name: snapshot.name },
        );
      });
      return {
        sourceId,
        snapshotName: snapshot.name,
        archive: () => Promise.resolve(copy),
        volume: false,
      };
    }
    let made: Promise<string> | null = null;
    return {
      sourceId,
      snapshotName: null,
      archive: () => (made ??= exportNow(context, sourceId, path.join(staging, "point.tar"))),
      volume: false,
    };
  });
}

/**
 * A source whose /workspace is a volume (under its lock): every fork gets the point's
 * layers, shared read-only, under its own empty top (Backend.cloneVolume), and the source's
 * baseline point. A fork of "now" seals one unnamed point for all of them, dropped from the
 * source's names afterwards (its layer stays as the source's top's parent).
 */
async function cloneVolumePoint(
  context: ManagerContext,
  source: WorkspaceRecord,
  snapshotName: string | null,
  forkIds: readonly string[],
): Promise<ForkPoint> {
  const backend = backendOf(context, source);
  const sourceDir = context.layout.workspaceDir(source.workspace_id);
  let point = snapshotName;
  if (point === null) {
    assertStarted(source, "workspace_fork");
    point = `.fork-${forkIds[0]}`;
    await sealWorkspacePoint(context, source, point);
  }
  for (const id of forkIds) {
    await backend.cloneVolume?.(sourceDir, point, context.layout.workspaceDir(id));
  }
  if (snapshotName === null) await reconcileWorkspaceVolume(context, source);
  const none = (): Promise<string> => Promise.reject(new Error("a volume fork has no archive"));
  return { sourceId: source.workspace_id, snapshotName, archive: none, volume: true };
}

/** The source's /workspace as it is now, as a snapshot would take it (and within its quota). */
function exportNow(context: ManagerContext, sourceId: string, target: string): Promise<string> {
  return withWorkspaceLock(context.layout, sourceId, async () => {
    const source = await loadWorkspace(context.layout, sourceId);
    assertStarted(source, "workspace_fork");
    const maxBytes = quotaValue(QUOTAS.snapshotBytes);
    await downloadArchive(context, source, "/workspace", target, {
      maxBytes,
      onLimit: () =>
        quotaError(
          QUOTAS.snapshotBytes,
          maxBytes,
          `/workspace of workspace '${sourceId}' is larger than one snapshot may be, so it cannot be forked as it is now`,
          "remove files from /workspace first",
          { workspace_id: sourceId },
        ),
    });
    return target;
  });
}

/**
 * Boots the fork's own sandbox with its /workspace equal to the point, and leaves the
 * runtime on `fork` (so a failure's cleanup destroys it).
 *
 * A fork of a volume (QEMU, record.workspace_volume) already has the point as its own
 * volume (cloneVolumePoint, under the source's lock): it boots on it, with no per-file work.
 * Otherwise (the generic path, every backend): boot a fresh sandbox (on QEMU a template
 * restore) while the point's archive is made, then extract the archive into the empty
 * /workspace, as a reset does.
 */
export async function prepareForkWorkspace(
  context: ManagerContext,
  point: ForkPoint,
  fork: WorkspaceRecord,
): Promise<void> {
  if (point.volume) {
    fork.runtime = await bootSandbox(context, fork);
    return;
  }
  const [runtime, archive] = await Promise.allSettled([
    bootSandbox(context, fork),
    point.archive(),
  ]);
  if (runtime.status === "fulfilled") fork.runtime = runtime.value;
  if (runtime.status === "rejected") throw runtime.reason;
  if (archive.status === "rejected") throw archive.reason;
  await importArchive(context, fork, archive.value, "/workspace", {
    fresh: true,
    restoreRoot: true,
  });
}
