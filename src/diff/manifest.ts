/**
 * Manifests: the comparable entries of a tree (files, symlinks, empty
 * directories) with a digest instead of the content. Diffing two manifests
 * finds what changed without moving the unchanged bytes, which is what makes
 * workspace_diff cheap on a large tree: the guest sends a manifest, and only the
 * changed files travel.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use
 * Node 18 APIs here.
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, lstatSync, readFileSync } from "node:fs";
import type { BigIntStats } from "node:fs";
import { list as tarList } from "tar";
import type { ReadEntry } from "tar";

import { fdPath, openFileAt, readlinkAt } from "../no-follow.js";
import { isVanished, walkDirectory } from "./fs-walk.js";
import { normalizeTarPath } from "./tree.js";

export type ManifestEntry =
  /** `mode`: the permission bits (07777); absent in the manifest of an agent that predates it. */
  | { type: "file"; size: number; sha256: string; mode?: number }
  | { type: "symlink"; target: string }
  | { type: "directory" };

/** Comparable entries only: a non-empty directory is implied by its children. */
export type Manifest = Map<string, ManifestEntry>;

/** Files above this size are hashed as a stream rather than read whole. */
const STREAM_HASH_BYTES = 4 * 1024 * 1024;

function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Hashes an open file as a stream; closes it. */
function hashFile(fd: number): Promise<{ size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    let size = 0;
    createReadStream("", { fd, autoClose: true, highWaterMark: 1024 * 1024 })
      .on("data", (chunk) => {
        size += (chunk as Buffer).length;
        hash.update(chunk);
      })
      .on("error", reject)
      .on("end", () => resolve({ size, sha256: hash.digest("hex") }));
  });
}

/** Directories that have no children among `paths` are the empty ones. */
export function emptyDirectories(directories: Iterable<string>, paths: Iterable<string>): string[] {
  const parents = new Set<string>();
  for (const path of paths) {
    const slash = path.lastIndexOf("/");
    if (slash > 0) parents.add(path.slice(0, slash));
  }
  const empty: string[] = [];
  for (const dir of directories) if (!parents.has(dir)) empty.push(dir);
  return empty;
}

/**
 * Remembers file digests between manifests of the same tree (the agent keeps one per
 * sandbox), so a second diff re-reads only files that changed. An entry is trusted only
 * when inode, size, mtime and ctime all match, and only once its ctime is older than
 * RACY_WINDOW_NS when it was hashed: a write within the filesystem's timestamp
 * granularity after hashing could otherwise leave every stamp unchanged (git's
 * "racy clean" problem, solved the same way).
 */
export type DigestCache = Map<string, { stamp: string; size: number; sha256: string }>;

export const RACY_WINDOW_NS = 2_000_000_000n;

/**
 * Builds the manifest of a host directory (a path, or an open directory descriptor that
 * stays the caller's). The walk and every read go through walkDirectory's descriptors and
 * openFileAt, never through a symlink: a file swapped for a symlink (or a directory for a
 * symlink) while we read is skipped, not followed. Stamps are taken with synchronous
 * lstat; only files whose stamp is not in `cache` are opened and hashed (small ones read
 * whole, large ones as a stream so memory stays bounded).
 */
export async function manifestFromDirectory(
  dir: string | number,
  cache?: DigestCache,
): Promise<Manifest> {
  const manifest: Manifest = new Map();
  const seen = new Set<string>();
  const record = (
    rel: string,
    stamp: string,
    stats: BigIntStats,
    digest: { size: number; sha256: string },
  ): void => {
    manifest.set(rel, { type: "file", ...digest, mode: Number(stats.mode & 0o7777n) });
    const hashedAt = BigInt(Date.now()) * 1_000_000n;
    if (cache && hashedAt - stats.ctimeNs > RACY_WINDOW_NS && BigInt(digest.size) === stats.size) {
      cache.set(rel, { stamp, ...digest });
    } else {
      cache?.delete(rel);
    }
  };
  // Synchronous except for a large file: no promise (microtask) per small file.
  const directories = await walkDirectory(dir, ({ dirFd, name, rel, type }) => {
    if (type === "symlink") {
      const target = readlinkAt(dirFd, name);
      if (target !== null) manifest.set(rel, { type: "symlink", target });
      return;
    }
    let stats: BigIntStats;
    try {
      stats = lstatSync(fdPath(dirFd, name), { bigint: true });
    } catch (err) {
      if (isVanished(err)) return;
      throw err;
    }
    if (!stats.isFile()) return; // swapped for something else since readdir
    const stamp = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
    seen.add(rel);
    const cached = cache?.get(rel);
    if (cached && cached.stamp === stamp) {
      manifest.set(rel, {
        type: "file",
        size: cached.size,
        sha256: cached.sha256,
        mode: Number(stats.mode & 0o7777n),
      });
      return;
    }
    const fd = openFileAt(dirFd, name, stats);
    if (fd === null) return; // no longer the file lstat saw
    if (stats.size >= BigInt(STREAM_HASH_BYTES)) {
      return hashFile(fd).then((digest) => record(rel, stamp, stats, digest));
    }
    let content: Buffer;
    try {
      content = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
    record(rel, stamp, stats, { size: content.length, sha256: sha256(content) });
    return undefined;
  });
  if (cache) for (const rel of cache.keys()) if (!seen.has(rel)) cache.delete(rel);
  const all = [...directories, ...manifest.keys()];
  for (const empty of emptyDirectories(directories, all))
    manifest.set(empty, { type: "directory" });
  return manifest;
}

/**
 * Reads a tar archive into a manifest, hashing file bodies as they stream by.
 * Later members replace earlier ones; hard links take their target's digest.
 */
export async function manifestFromTar(file: string): Promise<Manifest> {
  const entries = new Map<string, ManifestEntry>();
  const directories = new Set<string>();
  const links = new Map<string, string>();
  const onReadEntry = (entry: ReadEntry): void => {
    const path = normalizeTarPath(entry.path);
    if (path === null) return;
    links.delete(path);
    switch (entry.type) {
      case "File":
      case "OldFile":
      case "ContiguousFile": {
        const hash = createHash("sha256");
        let size = 0;
        const mode = (entry.mode ?? 0o644) & 0o7777;
        entry.on("data", (chunk: Buffer) => {
          size += chunk.length;
          hash.update(chunk);
        });
        entry.on("end", () =>
          entries.set(path, { type: "file", size, sha256: hash.digest("hex"), mode }),
        );
        return;
      }
      case "Directory":
        entries.delete(path);
        directories.add(path);
        return;
      case "SymbolicLink":
        entries.set(path, { type: "symlink", target: entry.linkpath ?? "" });
        return;
      case "Link": {
        const target = normalizeTarPath(entry.linkpath ?? "");
        entries.delete(path);
        if (target !== null) links.set(path, target);
        return;
      }
      default:
        return;
    }
  };
  await tarList({ file, strict: true, onReadEntry });
  for (const [path, target] of links) {
    const resolved = entries.get(target);
    if (resolved?.type === "file") entries.set(path, resolved);
  }
  const manifest: Manifest = new Map(entries);
  const all = [...directories, ...entries.keys()];
  for (const empty of emptyDirectories(directories, all)) {
    if (!entries.has(empty)) manifest.set(empty, { type: "directory" });
  }
  return manifest;
}

/**
 * Reads the bodies of `wanted` regular files from a tar archive (others are
 * skipped unbuffered). A hard link resolves to its target's body when the
 * target precedes it.
 */
export async function readTarFiles(
  file: string,
  wanted: ReadonlySet<string>,
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  if (wanted.size === 0) return found;
  const bodies = new Map<string, Buffer>();
  const onReadEntry = (entry: ReadEntry): void => {
    const path = normalizeTarPath(entry.path);
    if (path === null) return;
    if (
      (entry.type === "File" || entry.type === "OldFile" || entry.type === "ContiguousFile") &&
      wanted.has(path)
    ) {
      const chunks: Buffer[] = [];
      entry.on("data", (chunk: Buffer) => chunks.push(chunk));
      entry.on("end", () => bodies.set(path, Buffer.concat(chunks)));
    } else if (entry.type === "Link" && wanted.has(path)) {
      const target = normalizeTarPath(entry.linkpath ?? "");
      const body = target === null ? undefined : bodies.get(target);
      if (body) bodies.set(path, body);
    } else {
      bodies.delete(path);
    }
  };
  await tarList({ file, strict: true, onReadEntry });
  for (const path of wanted) {
    const body = bodies.get(path);
    if (body) found.set(path, body);
  }
  return found;
}

/**
 * One manifest entry per line: `[path, "f", size, sha256, mode]` (mode: the permission
 * bits as a number; older agents leave it out), `[path, "l", target]`, `[path, "d"]`.
 */
export function encodeManifestLine(path: string, entry: ManifestEntry): string {
  if (entry.type === "file") {
    return JSON.stringify(
      entry.mode === undefined
        ? [path, "f", entry.size, entry.sha256]
        : [path, "f", entry.size, entry.sha256, entry.mode],
    );
  }
  if (entry.type === "symlink") return JSON.stringify([path, "l", entry.target]);
  return JSON.stringify([path, "d"]);
}

export function encodeManifest(manifest: Manifest): string {
  let out = "";
  for (const [path, entry] of manifest) out += `${encodeManifestLine(path, entry)}\n`;
  return out;
}

/** Parses encodeManifest's output; throws on anything malformed (it may come from a guest). */
export function decodeManifest(text: string): Manifest {
  const manifest: Manifest = new Map();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const row: unknown = JSON.parse(line);
    if (!Array.isArray(row) || typeof row[0] !== "string" || normalizeTarPath(row[0]) !== row[0]) {
      throw new Error(`malformed manifest line: ${line.slice(0, 200)}`);
    }
    const [path, kind, a, b, c] = row as [string, unknown, unknown, unknown, unknown];
    if (
      kind === "f" &&
      typeof a === "number" &&
      typeof b === "string" &&
      /^[0-9a-f]{64}$/.test(b) &&
      (row.length === 4 || (row.length === 5 && isMode(c)))
    ) {
      manifest.set(path, {
        type: "file",
        size: a,
        sha256: b,
        ...(isMode(c) ? { mode: c } : {}),
      });
    } else if (kind === "l" && typeof a === "string") {
      manifest.set(path, { type: "symlink", target: a });
    } else if (kind === "d") {
      manifest.set(path, { type: "directory" });
    } else {
      throw new Error(`malformed manifest line: ${line.slice(0, 200)}`);
    }
  }
  return manifest;
}

function isMode(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0o7777;
}
