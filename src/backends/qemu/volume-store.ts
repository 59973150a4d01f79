/**
 * A workspace's volume on the host (docs/qemu-backend.md, "Workspace volumes"): a chain of
 * qcow2 layers in `<workspace dir>/volume/`, each `<layer id>.qcow2` backing onto its parent
 * by a RELATIVE name (so a chain hard-linked into another directory resolves there too),
 * the bottom one a link or copy of the cached empty filesystem. Sealed layers are 0444 and
 * never change; the top is the one qemu writes. `index.json` (written atomically) names the
 * top, every layer's parent, the named points (snapshots, `baseline`) and a seal in flight.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { z } from "zod";

import { requireTools, runTool } from "../../environments/host-tools.js";
import { PyroError } from "../../errors.js";
import { lazy } from "../../shared/lazy.js";

/** Every workspace volume has this virtual size: a template's device fits every volume. */
export const VOLUME_BYTES = 16 * 1024 * 1024 * 1024;
/** Bumped when the empty filesystem's recipe changes. */
const EMPTY_VOLUME_VERSION = 1;
/** A chain longer than this is flattened when a point is sealed on it (volume-ops.ts). */
export const MAX_CHAIN_DEPTH = 16;

/** Built on first use (src/shared/lazy.ts): a host-backend call never needs it. */
const IndexSchema = lazy(() =>
  z.object({
    version: z.literal(1),
    top: z.string().nullable(),
    layers: z.record(z.string(), z.object({ parent: z.string().nullable() })),
    points: z.record(z.string(), z.string()),
    /** A seal in flight: `to` is the new top qemu may or may not have switched to. */
    intent: z.object({ from: z.string(), to: z.string(), name: z.string() }).nullable(),
  }),
);
export type VolumeIndex = z.infer<ReturnType<typeof IndexSchema>>;

export const volumeDir = (sandboxDir: string): string => path.join(sandboxDir, "volume");
export const layerFile = (dir: string, id: string): string => path.join(dir, `${id}.qcow2`);
export const newLayerId = (): string => randomBytes(8).toString("hex");

export function readIndex(dir: string): VolumeIndex | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, "index.json"), "utf8");
  } catch {
    return null;
  }
  const parsed = IndexSchema().safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new PyroError("internal", `the workspace volume's index ${dir} is corrupt`, { dir });
  }
  return parsed.data;
}

export function writeIndex(dir: string, index: VolumeIndex): void {
  const target = path.join(dir, "index.json");
  const temp = `${target}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, "w", 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(index, null, 2));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, target);
}

/** The layers a chain holds from `id` down to its bottom (id first). */
export function chainOf(index: VolumeIndex, id: string): string[] {
  const chain: string[] = [];
  for (let at: string | null = id; at !== null; at = index.layers[at]?.parent ?? null) {
    if (chain.includes(at)) break;
    chain.push(at);
  }
  return chain;
}

/** A new qcow2 over `parent` (a file name in the same directory), complete when it appears. */
export async function createOverlayFile(
  qemuImg: string,
  dir: string,
  id: string,
  parent: string,
): Promise<void> {
  const target = layerFile(dir, id);
  const temp = path.join(dir, `.${id}.new`);
  await runTool(qemuImg, [
    ...["create", "-q", "-f", "qcow2", "-u", "-F", "qcow2"],
    ...["-b", `${parent}.qcow2`, temp, String(VOLUME_BYTES)],
  ]);
  // `-b` is relative to the new file's own directory, where the temp is too.
  fs.renameSync(temp, target);
}

/**
 * The empty filesystem every volume starts from, made once per cache: ext4 on the whole
 * device with its inode tables and journal initialised now (guests never run
 * ext4lazyinit), no lost+found (a fresh /workspace is empty), converted to a sparse qcow2.
 */
export async function emptyVolume(cacheDir: string, qemuImg: string): Promise<string> {
  const dir = path.join(cacheDir, "volumes");
  const target = path.join(dir, `empty-ext4-v${EMPTY_VOLUME_VERSION}-${VOLUME_BYTES}.qcow2`);
  if (fs.existsSync(target)) return target;
  fs.mkdirSync(dir, { recursive: true });
  const raw = path.join(dir, `.empty-${process.pid}.raw`);
  const temp = path.join(dir, `.empty-${process.pid}.qcow2`);
  try {
    fs.writeFileSync(raw, "");
    fs.truncateSync(raw, VOLUME_BYTES);
    const tools = requireTools(["mkfs.ext4", "debugfs"], "a qemu workspace's ext4 volume");
    await runTool(tools["mkfs.ext4"] as string, [
      ...["-q", "-F", "-L", "workspace", "-m", "0"],
      ...["-E", "lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0", raw],
    ]);
    await runTool(tools["debugfs"] as string, ["-w", "-R", "rmdir lost+found", raw]);
    await runTool(qemuImg, ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, temp]);
    fs.chmodSync(temp, 0o444);
    fs.renameSync(temp, target);
  } finally {
    fs.rmSync(raw, { force: true });
    fs.rmSync(temp, { force: true });
  }
  return target;
}

/** A volume of one empty layer and a top over it, replacing whatever `dir` held. */
export async function createVolume(dir: string, empty: string, qemuImg: string): Promise<void> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const bottom = newLayerId();
  try {
    fs.linkSync(empty, layerFile(dir, bottom));
  } catch {
    fs.copyFileSync(empty, layerFile(dir, bottom), fs.constants.COPYFILE_FICLONE);
    fs.chmodSync(layerFile(dir, bottom), 0o444);
  }
  const top = newLayerId();
  await createOverlayFile(qemuImg, dir, top, bottom);
  writeIndex(dir, {
    version: 1,
    top,
    layers: { [bottom]: { parent: null }, [top]: { parent: bottom } },
    points: {},
    intent: null,
  });
}

/**
 * Removes what nothing needs: points not in `live` (when given: a snapshot whose metadata
 * is gone), layers neither the top nor a point reaches through its parents, and files the
 * index does not name (a crash's leftovers). Returns the bytes held by layers only the
 * points keep (not the top's chain): what the snapshot quota counts.
 */
export function collectGarbage(dir: string, index: VolumeIndex, live: string[] | null): number {
  if (live) {
    for (const name of Object.keys(index.points)) {
      if (!live.includes(name)) delete index.points[name];
    }
  }
  const keep = new Set<string>();
  const roots = [...(index.top ? [index.top] : []), ...Object.values(index.points)];
  if (index.intent) roots.push(index.intent.from, index.intent.to);
  for (const root of roots) for (const id of chainOf(index, root)) keep.add(id);
  const doomed = Object.keys(index.layers).filter((id) => !keep.has(id));
  for (const id of doomed) delete index.layers[id];
  // The index first: a crash now leaves only files nothing names, removed next time.
  writeIndex(dir, index);
  for (const entry of fs.readdirSync(dir)) {
    const named = entry.endsWith(".qcow2") && entry.slice(0, -6) in index.layers;
    const pending = index.intent !== null && entry === `${index.intent.to}.qcow2`;
    if (entry === "index.json" || named || pending) continue;
    fs.rmSync(path.join(dir, entry), { force: true, recursive: true });
  }
  const topChain = new Set(index.top ? chainOf(index, index.top) : []);
  let bytes = 0;
  for (const id of Object.keys(index.layers)) {
    if (topChain.has(id)) continue;
    bytes += allocatedBytes(layerFile(dir, id));
  }
  return bytes;
}

export function allocatedBytes(file: string): number {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat ? stat.blocks * 512 : 0;
}
