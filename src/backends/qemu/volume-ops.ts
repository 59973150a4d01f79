/**
 * Operations on a running or stopped workspace volume (volume-store.ts holds the files):
 * sealing a point (freeze, switch qemu to a new top over QMP, thaw), reconciling after a
 * crash, the top a boot starts on, and cloning a point into another workspace (fork).
 */
import fs from "node:fs";
import path from "node:path";

import { runTool } from "../../environments/host-tools.js";
import { NotFoundError, PyroError } from "../../errors.js";
import { AgentClient } from "../../protocol/client.js";
import { Qmp, driveFile } from "./qmp.js";
import { readRecord } from "../../store/records.js";
import { qemuPaths } from "./runtime-files.js";
import { SuspendMarkerSchema } from "./supervisor-config.js";
import {
  MAX_CHAIN_DEPTH,
  allocatedBytes,
  chainOf,
  collectGarbage,
  createOverlayFile,
  createVolume,
  layerFile,
  newLayerId,
  readIndex,
  volumeDir,
  writeIndex,
  type VolumeIndex,
} from "./volume-store.js";

/** qemu's drive id of the volume (qemu-args.ts) and the monitor the host reaches it by. */
export const VOLUME_DRIVE_ID = "workspace";
export const VOLUME_QMP_SOCKET_NAME = "volume-qmp.sock";
/** The guest thaws /workspace on its own this long after a freeze the host did not end. */
const THAW_AFTER_MS = 10_000;

/**
 * Test hook: a host process with PYRO_VOLUME_KILL_AT naming this step kills itself with
 * SIGKILL there, so tests prove what a kill -9 at that step leaves (test/volume-qemu).
 */
function killPoint(step: string): void {
  if (process.env.PYRO_VOLUME_KILL_AT === step) process.kill(process.pid, "SIGKILL");
}

function qmpSocket(sandboxDir: string): string {
  return path.join(qemuPaths(sandboxDir).runtimeDir, VOLUME_QMP_SOCKET_NAME);
}

/** The file qemu writes the volume to now, or null when no qemu of this sandbox answers. */
async function activeTop(sandboxDir: string): Promise<string | null> {
  // A suspended guest has no qemu: the layer it will be resumed on is in its marker.
  const marker = await readRecord(qemuPaths(sandboxDir).suspendMarker, SuspendMarkerSchema).catch(
    () => null,
  );
  if (marker?.volume_file) return path.basename(marker.volume_file, ".qcow2");
  let qmp: Qmp;
  try {
    qmp = await Qmp.connect(qmpSocket(sandboxDir), 2_000);
  } catch {
    return null;
  }
  try {
    const file = await driveFile(qmp, VOLUME_DRIVE_ID);
    return file ? path.basename(file, ".qcow2") : null;
  } finally {
    qmp.close();
  }
}

/**
 * Brings the index in line with the files and qemu after a crash (under the workspace's
 * lock): a seal in flight is finished when qemu writes its new top (or no qemu runs: the
 * new top is an empty layer over the old one, which holds everything), else undone; then
 * garbage is collected. Returns the bytes of layers only snapshots keep.
 */
export async function reconcileVolume(sandboxDir: string, live: string[] | null): Promise<number> {
  const dir = volumeDir(sandboxDir);
  const index = readIndex(dir);
  if (!index) return 0;
  const intent = index.intent;
  if (intent) {
    const active = fs.existsSync(layerFile(dir, intent.to)) ? await activeTop(sandboxDir) : "";
    if (active === intent.to || active === null) finishSeal(dir, index);
    index.intent = null;
  }
  return collectGarbage(dir, index, live);
}

function finishSeal(dir: string, index: VolumeIndex): void {
  const intent = index.intent as NonNullable<VolumeIndex["intent"]>;
  fs.chmodSync(layerFile(dir, intent.from), 0o444);
  index.layers[intent.to] = { parent: intent.from };
  index.top = intent.to;
  index.points[intent.name] = intent.from;
  index.intent = null;
  writeIndex(dir, index);
}

/**
 * Seals the running volume's top as point `name`: /workspace is frozen in the guest, qemu
 * switches to a new empty top over the old one (blockdev-snapshot-sync, `existing`: the
 * new file's relative backing name stays), the guest thaws. No per-file work.
 */
export async function sealVolume(
  sandboxDir: string,
  name: string,
  qemuImg: string,
): Promise<{ layer: string; size_bytes: number }> {
  await reconcileVolume(sandboxDir, null);
  const dir = volumeDir(sandboxDir);
  const index = requireIndex(dir);
  const from = index.top as string;
  const to = newLayerId();
  await createOverlayFile(qemuImg, dir, to, from);
  killPoint("seal-top-created");
  index.intent = { from, to, name };
  writeIndex(dir, index);
  const { client } = await AgentClient.connect(qemuPaths(sandboxDir).clientSocket);
  try {
    await client.call("volume.freeze", { thaw_after_ms: THAW_AFTER_MS });
    try {
      const qmp = await Qmp.connect(qmpSocket(sandboxDir));
      try {
        await qmp.execute("blockdev-snapshot-sync", {
          device: VOLUME_DRIVE_ID,
          "snapshot-file": layerFile(dir, to),
          format: "qcow2",
          mode: "existing",
        });
        killPoint("seal-switched");
      } finally {
        qmp.close();
      }
    } finally {
      await client.call("volume.thaw", {}).catch(() => undefined);
    }
  } catch (error) {
    // qemu still writes the old top: the new one goes (reconcile decides from qemu).
    await reconcileVolume(sandboxDir, null);
    throw error;
  } finally {
    client.close();
  }
  finishSeal(dir, index);
  if (chainOf(index, to).length > MAX_CHAIN_DEPTH) await streamTop(sandboxDir, index);
  return { layer: from, size_bytes: allocatedBytes(layerFile(dir, from)) };
}

/**
 * Bounds the running chain: when a seal takes it past MAX_CHAIN_DEPTH, qemu copies what
 * the top reads through its parents into the top (`block-stream`, while the guest runs)
 * and drops the backing link. Its cost is the volume's data, paid once per MAX_CHAIN_DEPTH
 * seals; the sealed points keep their own chains (a reset to a deep one flattens it).
 */
async function streamTop(sandboxDir: string, index: VolumeIndex): Promise<void> {
  const qmp = await Qmp.connect(qmpSocket(sandboxDir));
  const jobId = `flatten-${newLayerId()}`;
  try {
    await qmp.execute("block-stream", {
      "job-id": jobId,
      device: VOLUME_DRIVE_ID,
      "auto-dismiss": false,
    });
    for (;;) {
      const jobs = (await qmp.execute("query-jobs")) as Array<{
        id: string;
        status: string;
        error?: string;
      }>;
      const job = jobs.find((candidate) => candidate.id === jobId);
      if (!job || job.status === "concluded") {
        if (job) await qmp.execute("job-dismiss", { id: jobId });
        if (job?.error) throw new PyroError("backend_error", `flattening the volume: ${job.error}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    qmp.close();
  }
  const dir = volumeDir(sandboxDir);
  const fresh = readIndex(dir) ?? index;
  if (fresh.top) fresh.layers[fresh.top] = { parent: null };
  collectGarbage(dir, fresh, null);
}

function requireIndex(dir: string): VolumeIndex {
  const index = readIndex(dir);
  if (!index?.top) {
    throw new PyroError("invalid_state", "this workspace's volume is missing; reset it", {
      reason: "volume_missing",
    });
  }
  return index;
}

/**
 * The file a boot attaches: a fresh volume (none yet), the top a stop kept, or (`resetTo`)
 * a new empty top over a named point, the old top discarded. A point deeper than the
 * limit is first flattened into a standalone layer (qemu-img convert: its cost is the
 * data's size, paid once per deep point).
 */
export async function volumeForBoot(
  sandboxDir: string,
  resetTo: string | null,
  empty: () => Promise<string>,
  qemuImg: string,
): Promise<string> {
  const dir = volumeDir(sandboxDir);
  await reconcileVolume(sandboxDir, null);
  let index = readIndex(dir);
  if (!index) {
    if (resetTo !== null) throw missingPoint(resetTo);
    await createVolume(dir, await empty(), qemuImg);
    index = requireIndex(dir);
  }
  if (resetTo === null) return layerFile(dir, requireIndex(dir).top as string);
  let point = index.points[resetTo];
  if (!point || !fs.existsSync(layerFile(dir, point))) throw missingPoint(resetTo);
  if (chainOf(index, point).length >= MAX_CHAIN_DEPTH) {
    point = await flattenPoint(dir, index, resetTo, qemuImg);
  }
  const top = newLayerId();
  await createOverlayFile(qemuImg, dir, top, point);
  killPoint("reset-top-created");
  index.layers[top] = { parent: point };
  index.top = top;
  collectGarbage(dir, index, null);
  return layerFile(dir, top);
}

async function flattenPoint(
  dir: string,
  index: VolumeIndex,
  name: string,
  qemuImg: string,
): Promise<string> {
  const source = index.points[name] as string;
  const flat = newLayerId();
  const temp = path.join(dir, `.${flat}.new`);
  await runTool(qemuImg, ["convert", "-q", "-O", "qcow2", layerFile(dir, source), temp]);
  fs.chmodSync(temp, 0o444);
  fs.renameSync(temp, layerFile(dir, flat));
  index.layers[flat] = { parent: null };
  index.points[name] = flat;
  writeIndex(dir, index);
  return flat;
}

function missingPoint(name: string): Error {
  return new NotFoundError(`the workspace volume has no point '${name}'`, {
    snapshot_name: name,
  });
}

/**
 * Fork's disk part: `targetDir` gets the chain of `point` (a snapshot name, or null: a
 * point sealed now from the running source) as hard links (layers never change, so the
 * links share nothing writable) and a fresh empty top over it; its `baseline` point is the
 * source's. A later boot of targetDir's workspace (volume.resetTo null) starts on that top.
 */
export async function cloneVolume(
  sourceDir: string,
  point: string | null,
  targetDir: string,
  qemuImg: string,
): Promise<void> {
  const name = point ?? `.fork-${newLayerId()}`;
  if (point === null) await sealVolume(sourceDir, name, qemuImg);
  const source = volumeDir(sourceDir);
  const index = requireIndex(source);
  const layer = index.points[name];
  const baseline = index.points.baseline;
  if (!layer) throw missingPoint(name);
  const target = volumeDir(targetDir);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  const cloned: VolumeIndex = { version: 1, top: null, layers: {}, points: {}, intent: null };
  for (const root of [layer, ...(baseline ? [baseline] : [])]) {
    for (const id of chainOf(index, root)) {
      if (cloned.layers[id]) continue;
      fs.linkSync(layerFile(source, id), layerFile(target, id));
      cloned.layers[id] = { parent: index.layers[id]?.parent ?? null };
    }
  }
  if (baseline) cloned.points.baseline = baseline;
  const top = newLayerId();
  await createOverlayFile(qemuImg, target, top, layer);
  cloned.layers[top] = { parent: layer };
  cloned.top = top;
  writeIndex(target, cloned);
  // The unnamed point stays in the source only as its top's parent.
  if (point === null) {
    delete index.points[name];
    collectGarbage(source, index, null);
  }
}
