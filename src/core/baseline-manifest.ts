/**
 * The baseline's manifest (paths, digests and modes of baseline/workspace.tar), kept beside
 * it as baseline/manifest.ndjson: written at create, so no diff re-hashes the baseline.
 */
import fs from "node:fs/promises";
import path from "node:path";

import { decodeManifest, encodeManifest, manifestFromTar, type Manifest } from "../diff/index.js";
import { writeFileAtomic } from "../store/atomic.js";

/** Parsed baseline manifests, by file and its identity on disk (baselines never change). */
const baselineCache = new Map<string, { key: string; manifest: Manifest }>();

/**
 * The baseline's manifest: computed once from baseline/workspace.tar and kept beside it
 * (baseline/manifest.ndjson), so later diffs, from any process, skip re-hashing it.
 */
export async function baselineManifest(archive: string): Promise<Manifest> {
  const stat = await fs.stat(archive);
  const key = `${stat.size}:${stat.mtimeMs}`;
  const cached = baselineCache.get(archive);
  if (cached?.key === key) return cached.manifest;
  const sidecar = path.join(path.dirname(archive), "manifest.ndjson");
  let manifest: Manifest | null = null;
  const sidecarStat = await fs.stat(sidecar).catch(() => null);
  if (sidecarStat && sidecarStat.mtimeMs >= stat.mtimeMs) {
    // A damaged sidecar is only a cache miss: recompute it from the archive.
    manifest = await fs
      .readFile(sidecar, "utf8")
      .then(decodeManifest)
      .catch(() => null);
    // A sidecar written before manifests carried file modes would hide every mode change.
    if (manifest && [...manifest.values()].some((e) => e.type === "file" && e.mode === undefined)) {
      manifest = null;
    }
  }
  if (!manifest) {
    manifest = await manifestFromTar(archive);
    await writeFileAtomic(sidecar, encodeManifest(manifest));
  }
  baselineCache.set(archive, { key, manifest });
  return manifest;
}

/**
 * Computes and stores the baseline's manifest beside it at create, so the first diff does
 * not pay for it.
 */
export async function storeBaselineManifest(archive: string): Promise<void> {
  await baselineManifest(archive);
}
