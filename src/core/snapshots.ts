import fs from "node:fs/promises";
import path from "node:path";

import { NotFoundError, PyroError, ValidationError } from "../errors.js";
import { writeJsonAtomic } from "../store/atomic.js";
import {
  SCHEMA_VERSION,
  SnapshotMetaSchema,
  readRecord,
  type SnapshotMeta,
  type WorkspaceRecord,
} from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { checkName } from "../shared/limits.js";
import { QUOTAS, quotaError, quotaValue } from "./quotas.js";
import { loadWorkspace, withWorkspaceLock } from "./records-io.js";
import { downloadArchive } from "./workspace-create.js";
import { recordEvent } from "./workspace-events.js";
import { assertStarted, requireBaseline, requireStarted } from "./workspace-ops.js";
import { reconcileWorkspaceVolume, sealWorkspacePoint, usesVolume } from "./volume-snapshots.js";

export const BASELINE = "baseline";

export interface SnapshotInfo {
  snapshot_name: string;
  kind: "baseline" | "named";
  created_at: number;
  size_bytes: number;
  entry_count: number | null;
}

function snapshotInfo(meta: SnapshotMeta): SnapshotInfo {
  return {
    snapshot_name: meta.snapshot_name,
    kind: "named",
    created_at: meta.created_at,
    size_bytes: meta.size_bytes,
    entry_count: meta.entry_count,
  };
}

function snapshotPaths(
  context: ManagerContext,
  id: string,
  name: string,
): { archive: string; meta: string } {
  const dir = context.layout.snapshotsDir(id);
  return { archive: path.join(dir, `${name}.tar`), meta: path.join(dir, `${name}.json`) };
}

function checkSnapshotName(raw: string): string {
  return checkName("snapshot_name", raw);
}

async function baselineInfo(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<SnapshotInfo> {
  const file = await requireBaseline(context, record, "snapshots");
  const stat = await fs.stat(file);
  return {
    snapshot_name: BASELINE,
    kind: "baseline",
    created_at: record.created_at,
    size_bytes: stat.size,
    entry_count: null,
  };
}

async function namedSnapshots(context: ManagerContext, id: string): Promise<SnapshotInfo[]> {
  const dir = context.layout.snapshotsDir(id);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const infos: SnapshotInfo[] = [];
  for (const file of names) {
    if (!file.endsWith(".json") || file.startsWith(".")) continue;
    const meta = await readRecord(path.join(dir, file), SnapshotMetaSchema).catch(() => null);
    if (!meta) continue;
    const archive = await fs
      .stat(snapshotPaths(context, id, meta.snapshot_name).archive)
      .catch(() => null);
    // Metadata without its archive is not a snapshot (a volume point has none).
    if (meta.kind !== "volume" && !archive?.isFile()) continue;
    infos.push(snapshotInfo(meta));
  }
  return infos.sort(
    (a, b) => a.created_at - b.created_at || a.snapshot_name.localeCompare(b.snapshot_name),
  );
}

export async function listSnapshots(context: ManagerContext, id: string) {
  const record = await loadWorkspace(context.layout, id);
  await requireBaseline(context, record, "snapshot_list");
  const snapshots = [
    await baselineInfo(context, record),
    ...(await namedSnapshots(context, record.workspace_id)),
  ];
  return { workspace_id: record.workspace_id, count: snapshots.length, snapshots };
}

export async function createSnapshot(context: ManagerContext, id: string, rawName: string) {
  const name = checkSnapshotName(rawName);
  if (name === BASELINE) {
    throw new ValidationError(
      "snapshot_name 'baseline' is reserved for the workspace's creation baseline",
      {
        field: "snapshot_name",
      },
    );
  }
  const loaded = await loadWorkspace(context.layout, id);
  await requireBaseline(context, loaded, "snapshot_create");
  await requireStarted(context, loaded.workspace_id, "snapshot_create");
  return withWorkspaceLock(context.layout, loaded.workspace_id, async () => {
    const record = await loadWorkspace(context.layout, loaded.workspace_id);
    assertStarted(record, "snapshot_create");
    const paths = snapshotPaths(context, record.workspace_id, name);
    if (await fs.stat(paths.meta).catch(() => null)) {
      throw new PyroError(
        "already_exists",
        `snapshot '${name}' already exists in workspace '${record.workspace_id}'`,
        {
          snapshot_name: name,
        },
      );
    }
    // A volume's leftovers of a killed operation go first; its layers count as disk use.
    const layerBytes = await reconcileWorkspaceVolume(context, record);
    const room = await snapshotRoom(context, record.workspace_id, name, layerBytes);
    if (usesVolume(record)) {
      // The point first, the metadata last: a crash in between leaves a point that the
      // next reconcile drops, never a listed snapshot without its point.
      const sealed = await sealWorkspacePoint(context, record, name);
      if (sealed.size_bytes > room.bytes) {
        await reconcileWorkspaceVolume(context, record);
        throw room.onLimit();
      }
      const meta: SnapshotMeta = {
        schema_version: SCHEMA_VERSION,
        snapshot_name: name,
        created_at: nowSeconds(),
        size_bytes: sealed.size_bytes,
        entry_count: null,
        kind: "volume",
        layer: sealed.layer,
      };
      await writeJsonAtomic(paths.meta, meta);
      await recordEvent(context.layout, record.workspace_id, "snapshot_create", name);
      return { workspace_id: record.workspace_id, snapshot: snapshotInfo(meta) };
    }
    // Archive first, metadata last: a crash in between leaves an orphan archive that the
    // listing ignores, never a listed snapshot without its archive.
    const exported = await downloadArchive(context, record, "/workspace", paths.archive, {
      maxBytes: room.bytes,
      onLimit: room.onLimit,
    });
    const meta: SnapshotMeta = {
      schema_version: SCHEMA_VERSION,
      snapshot_name: name,
      created_at: nowSeconds(),
      size_bytes: exported.size_bytes,
      entry_count: exported.entry_count,
    };
    await writeJsonAtomic(paths.meta, meta);
    await recordEvent(context.layout, record.workspace_id, "snapshot_create", name);
    return { workspace_id: record.workspace_id, snapshot: snapshotInfo(meta) };
  });
}

/**
 * Checks the snapshot quotas before a new snapshot is taken: the count now, the disk use as
 * the archive streams in (its size is unknown until then). Disk use is every file under
 * the snapshots directory, so an orphan archive left by a crash counts too.
 */
async function snapshotRoom(
  context: ManagerContext,
  id: string,
  name: string,
  layerBytes: number,
): Promise<{ bytes: number; onLimit: () => Error }> {
  const maxCount = quotaValue(QUOTAS.snapshotCount);
  const maxBytes = quotaValue(QUOTAS.snapshotBytes);
  const existing = await namedSnapshots(context, id);
  const remedy = "delete snapshots with `pyro workspace snapshot delete`";
  if (existing.length >= maxCount) {
    throw quotaError(
      QUOTAS.snapshotCount,
      maxCount,
      `workspace '${id}' already has ${existing.length} snapshots, so '${name}' cannot be added`,
      remedy,
      { workspace_id: id, snapshot_name: name, value: existing.length },
    );
  }
  const dir = context.layout.snapshotsDir(id);
  let used = layerBytes;
  for (const file of await fs.readdir(dir).catch(() => [] as string[])) {
    const stat = await fs.lstat(path.join(dir, file)).catch(() => null);
    if (stat?.isFile()) used += stat.size;
  }
  const onLimit = () =>
    quotaError(
      QUOTAS.snapshotBytes,
      maxBytes,
      `snapshot '${name}' would bring workspace '${id}' past it (${used} bytes already used by snapshots)`,
      remedy,
      { workspace_id: id, snapshot_name: name, value: used },
    );
  if (used >= maxBytes) throw onLimit();
  return { bytes: maxBytes - used, onLimit };
}

export async function deleteSnapshot(context: ManagerContext, id: string, rawName: string) {
  const loaded = await loadWorkspace(context.layout, id);
  await requireBaseline(context, loaded, "snapshot_delete");
  const name = checkSnapshotName(rawName);
  if (name === BASELINE) {
    throw new ValidationError(
      "cannot delete the baseline snapshot: it is the workspace's diff base",
      {
        field: "snapshot_name",
      },
    );
  }
  return withWorkspaceLock(context.layout, loaded.workspace_id, async () => {
    const record = await loadWorkspace(context.layout, loaded.workspace_id);
    const paths = snapshotPaths(context, loaded.workspace_id, name);
    if (!(await fs.stat(paths.meta).catch(() => null))) {
      throw new NotFoundError(
        `snapshot '${name}' does not exist in workspace '${loaded.workspace_id}'`,
        {
          snapshot_name: name,
        },
      );
    }
    await fs.rm(paths.meta, { force: true });
    await fs.rm(paths.archive, { force: true });
    // Its layer goes when nothing else needs it (a middle layer stays for its descendants).
    await reconcileWorkspaceVolume(context, record);
    await recordEvent(context.layout, loaded.workspace_id, "snapshot_delete", name);
    return { workspace_id: loaded.workspace_id, snapshot_name: name, deleted: true };
  });
}

/** The archive a reset restores from; checked readable before the old sandbox is touched. */
export async function snapshotArchiveFor(
  context: ManagerContext,
  record: WorkspaceRecord,
  rawName: string,
): Promise<string> {
  const baseline = await requireBaseline(context, record, "workspace_reset");
  const name = rawName === BASELINE ? BASELINE : checkSnapshotName(rawName);
  let archive = baseline;
  if (name !== BASELINE) {
    const paths = snapshotPaths(context, record.workspace_id, name);
    if (
      !(await fs.stat(paths.meta).catch(() => null)) ||
      !(await fs.stat(paths.archive).catch(() => null))
    ) {
      throw new NotFoundError(
        `snapshot '${name}' does not exist in workspace '${record.workspace_id}'`,
        {
          snapshot_name: name,
        },
      );
    }
    archive = paths.archive;
  }
  // Read it completely now: a damaged snapshot must fail the reset before anything is lost.
  const { validateArchive } = await import("../archive/index.js"); // loaded on first use
  await validateArchive(archive, {}).catch((error: Error) => {
    throw new PyroError(
      "invalid_state",
      `snapshot '${name}' is damaged and cannot be restored: ${error.message}`,
      {
        snapshot_name: name,
      },
      { cause: error },
    );
  });
  return archive;
}
