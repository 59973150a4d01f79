/**
 * The host's copy of the last sandbox manifest a diff received, with the generation the
 * agent gave it (src/diff/manifest-delta.ts): the next diff names that generation and gets
 * only the lines that changed. One file per workspace, replaced atomically; it belongs to
 * one boot of the sandbox (its runtime's pid, start time and start), so a reset, stop or
 * fork never pairs it with another agent's generation. Only a cache: anything wrong with
 * it (missing, torn, another boot's) means a whole manifest is asked for.
 */
import fs from "node:fs/promises";

import { decodeManifest, encodeManifest, type Manifest } from "../diff/index.js";
import { isManifestGeneration } from "../diff/manifest-delta.js";
import { writeFileAtomic } from "../store/atomic.js";
import type { RuntimeRecord } from "../store/records.js";

interface CacheHeader {
  boot: string;
  path: string;
  generation: string;
}

interface CachedManifest {
  generation: string;
  manifest: Manifest;
}

/** The boot a runtime record describes: a new one for every create, reset, start or fork. */
function bootOf(runtime: RuntimeRecord): string {
  return `${runtime.pid}:${String(runtime.pid_start_ticks)}:${runtime.started_at}`;
}

/** The cached manifest of `guestPath` for this boot, or null. */
export async function readManifestCache(
  file: string,
  runtime: RuntimeRecord,
  guestPath: string,
): Promise<CachedManifest | null> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch {
    return null;
  }
  try {
    const newline = text.indexOf("\n");
    const header = JSON.parse(text.slice(0, newline)) as Partial<CacheHeader>;
    if (header.boot !== bootOf(runtime) || header.path !== guestPath) return null;
    if (!isManifestGeneration(header.generation)) return null;
    return { generation: header.generation, manifest: decodeManifest(text.slice(newline + 1)) };
  } catch {
    return null;
  }
}

/** Stores `manifest` as the one the agent holds under `generation`; best effort. */
export async function writeManifestCache(
  file: string,
  runtime: RuntimeRecord,
  guestPath: string,
  generation: unknown,
  manifest: Manifest,
): Promise<void> {
  if (!isManifestGeneration(generation)) {
    // An agent before deltas (no generation): nothing to name next time.
    await fs.rm(file, { force: true }).catch(() => undefined);
    return;
  }
  const header: CacheHeader = { boot: bootOf(runtime), path: guestPath, generation };
  await writeFileAtomic(file, `${JSON.stringify(header)}\n${encodeManifest(manifest)}`).catch(
    () => undefined,
  );
}
