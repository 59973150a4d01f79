/**
 * Manifest deltas: a repeated workspace_diff receives only the manifest lines that changed.
 *
 * A full manifest of 10,000 files is about 1 MB of lines, which crosses the guest's
 * virtio-serial port at a few MB/s under TCG and is encoded and decoded line by line on
 * both sides: most of a warm diff's time. The agent remembers the lines of the last
 * manifest it sent under a generation (its process's random tag and a counter); the host keeps
 * that manifest with its generation (src/core/manifest-cache.ts) and names it as `since`
 * in its next request. When the agent still holds that generation it sends only the lines
 * that differ (new or changed entries, and `[path, "-"]` for an entry gone) and answers
 * `delta: true`; otherwise it sends the whole manifest. A touched file whose content,
 * size and mode did not change has the same line, so it is not sent.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use Node 18 APIs.
 */
import { randomBytes } from "node:crypto";

import {
  decodeManifest,
  encodeManifestLine,
  type Manifest,
  type ManifestEntry,
} from "./manifest.js";
import { normalizeTarPath } from "./tree.js";

/** The kind of a delta line that removes its path. */
const DELETED = "-";

/** What the agent sends for one manifest request. */
interface ManifestLines {
  /** Newline-terminated lines: the whole manifest, or only what changed since `since`. */
  lines: string[];
  delta: boolean;
  generation: string;
}

/** Whether two entries encode to the same line (what the host would see as no change). */
function sameEntry(a: ManifestEntry, b: ManifestEntry): boolean {
  if (a.type === "file") {
    return b.type === "file" && a.sha256 === b.sha256 && a.size === b.size && a.mode === b.mode;
  }
  if (a.type === "symlink") return b.type === "symlink" && a.target === b.target;
  return b.type === a.type;
}

/** The agent's memory of the last manifest it sent for each path (one entry: /workspace). */
export class SentManifests {
  /**
   * Per agent process: an agent restarted within one boot never takes a generation the
   * host may still hold for its predecessor (the host's copy is per boot, so a restored
   * template's shared memory cannot mix boots either).
   */
  private readonly instance = randomBytes(4).toString("hex");
  private counter = 0;
  private readonly last = new Map<string, { generation: string; manifest: Manifest }>();

  /**
   * The lines to send for `manifest` of `guestPath`, given the generation the host holds.
   * The comparison and the update run without an await between them, so two requests
   * at once each get a consistent answer (the second a whole manifest, as its `since` is
   * no longer current). Entries are compared field by field and only what is sent is
   * encoded: under TCG, encoding 10,000 lines cost 0.3 s.
   */
  next(guestPath: string, manifest: Manifest, since: string | undefined): ManifestLines {
    const previous = this.last.get(guestPath);
    const generation = `${this.instance}-${++this.counter}`;
    this.last.set(guestPath, { generation, manifest });
    const line = (path: string, entry: ManifestEntry): string =>
      `${encodeManifestLine(path, entry)}\n`;
    if (!previous || since === undefined || previous.generation !== since) {
      return {
        lines: [...manifest].map(([path, entry]) => line(path, entry)),
        delta: false,
        generation,
      };
    }
    const changed: string[] = [];
    for (const [path, entry] of manifest) {
      const before = previous.manifest.get(path);
      if (!before || !sameEntry(before, entry)) changed.push(line(path, entry));
    }
    for (const path of previous.manifest.keys()) {
      if (!manifest.has(path)) changed.push(`${JSON.stringify([path, DELETED])}\n`);
    }
    return { lines: changed, delta: true, generation };
  }
}

/**
 * Applies a delta (from the guest: untrusted, checked line by line as decodeManifest does)
 * to a copy of `base`. Throws on a malformed line.
 */
export function applyManifestDelta(base: Manifest, text: string): Manifest {
  const manifest: Manifest = new Map(base);
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const row: unknown = JSON.parse(line);
    if (Array.isArray(row) && row.length === 2 && row[1] === DELETED) {
      const path: unknown = row[0];
      if (typeof path !== "string" || normalizeTarPath(path) !== path) {
        throw new Error(`malformed manifest line: ${line.slice(0, 200)}`);
      }
      manifest.delete(path);
      continue;
    }
    for (const [path, entry] of decodeManifest(line)) manifest.set(path, entry);
  }
  return manifest;
}

/** A generation as the agent words it: what the host accepts before storing it. */
export function isManifestGeneration(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{8}-[0-9]{1,15}$/.test(value);
}
