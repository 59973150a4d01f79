/**
 * Snapshots of a workspace whose /workspace is a volume (record.workspace_volume): each is
 * a sealed copy-on-write point of the volume (the backend's sealVolume), with the same
 * metadata file as a tar snapshot (`kind: "volume"`, its layer id, no archive). See
 * docs/qemu-backend.md, "Workspace volumes".
 */
import fs from "node:fs/promises";
import path from "node:path";

import { NotFoundError, PyroError } from "../errors.js";
import { SnapshotMetaSchema, readRecord, type WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { backendOf, sandboxDirOf } from "./sandbox.js";

export function usesVolume(record: WorkspaceRecord): boolean {
  return record.workspace_volume === true;
}

function volumeBackend(context: ManagerContext, record: WorkspaceRecord) {
  const backend = backendOf(context, record);
  const { sealVolume, reconcileVolume } = backend;
  if (!sealVolume || !reconcileVolume) {
    throw new PyroError(
      "invalid_state",
      `workspace '${record.workspace_id}' keeps /workspace on a volume, which the ${backend.name} backend cannot serve`,
      { workspace_id: record.workspace_id },
    );
  }
  return {
    seal: (name: string) => sealVolume.call(backend, sandboxDirOf(context, record), name),
    reconcile: (live: string[]) =>
      reconcileVolume.call(backend, sandboxDirOf(context, record), live),
  };
}

/** The names whose points must stay: the baseline and every snapshot with its metadata. */
async function livePoints(context: ManagerContext, id: string): Promise<string[]> {
  const dir = context.layout.snapshotsDir(id);
  const live = ["baseline"];
  for (const file of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!file.endsWith(".json") || file.startsWith(".")) continue;
    const meta = await readRecord(path.join(dir, file), SnapshotMetaSchema).catch(() => null);
    if (meta?.kind === "volume") live.push(meta.snapshot_name);
  }
  return live;
}

/**
 * Repairs what a killed operation left in the volume and removes layers nothing needs
 * (call under the workspace's lock); returns the bytes of layers only snapshots keep.
 */
export async function reconcileWorkspaceVolume(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<number> {
  if (!usesVolume(record)) return 0;
  return volumeBackend(context, record).reconcile(await livePoints(context, record.workspace_id));
}

/** Seals the running workspace's /workspace as point `name` (a snapshot, `baseline`). */
export async function sealWorkspacePoint(
  context: ManagerContext,
  record: WorkspaceRecord,
  name: string,
): Promise<{ layer: string; size_bytes: number }> {
  return volumeBackend(context, record).seal(name);
}

/** Checks a reset's point exists before the old sandbox is touched. */
export async function requireVolumePoint(
  context: ManagerContext,
  record: WorkspaceRecord,
  name: string,
): Promise<void> {
  if (name === "baseline") return;
  const file = path.join(context.layout.snapshotsDir(record.workspace_id), `${name}.json`);
  const meta = await readRecord(file, SnapshotMetaSchema).catch(() => null);
  if (meta?.kind !== "volume") {
    throw new NotFoundError(
      `snapshot '${name}' does not exist in workspace '${record.workspace_id}'`,
      { snapshot_name: name },
    );
  }
}
