/**
 * The manifest of a guest's /workspace by native tools: one `find -printf` pass for every
 * entry's type, identity, size, times and mode, then `sha256sum` (batched by xargs) for
 * the files whose digest is not cached. Under software emulation (TCG) the JavaScript walk
 * (manifestFromDirectory) costs about a millisecond per file even when every digest is
 * cached; the native tools do the same work an order of magnitude faster.
 *
 * Only for a real guest: `sha256sum` opens files by name, so a file swapped for a symlink
 * between the listing and the hashing is hashed through the link. Inside a guest that can
 * only reach the guest's own files (a digest, never a body: bodies are read by files.read,
 * which never follows a link); the host backend's agent, whose links could point at the
 * host's files, keeps the descriptor-based walk.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use Node 18 APIs.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import os from "node:os";

import { fdPath } from "../no-follow.js";
import { RACY_WINDOW_NS, emptyDirectories, type DigestCache, type Manifest } from "./manifest.js";
import { runTool } from "./tool-run.js";

/**
 * Fields per entry of the `find` listing, each NUL-terminated: the type, the stamp a digest
 * is cached under (device:inode:size:mtime:ctime, printed whole by find: under TCG, fewer
 * strings for the agent to split and join), the mode, the path and a symlink's target.
 */
const FIND_FORMAT = "%y\\0%D:%i:%s:%T@:%C@\\0%m\\0%P\\0%l\\0";
const FIELDS = 5;
// -ignore_readdir_race: an entry removed while find walks is skipped without an error, so
// any non-zero status is a real failure (a listing it could not write, an I/O error).
const FIND_ARGS = [".", "-ignore_readdir_race", "-mindepth", "1", "(", "-type", "f"].concat([
  "-o",
  "-type",
  "d",
  "-o",
  "-type",
  "l",
  ")",
  "-printf",
  FIND_FORMAT,
]);

interface NativeOptions {
  /** Where the tools' input and output files are made (tool-run.ts): a private tmpfs. */
  tempDir: string;
  /** Run the tools at the lowest CPU priority (a background prime of the cache). */
  background?: boolean;
}

interface Listed {
  rel: string;
  stamp: string;
  size: number;
  /** The ctime in milliseconds (a double holds find's fraction to well under one). */
  ctimeMs: number;
  mode: number;
}

/** The racy window in milliseconds: numbers, not BigInts, for 10,000 files under TCG. */
const RACY_WINDOW_MS = Number(RACY_WINDOW_NS / 1_000_000n);

/**
 * Builds the manifest of the directory open as `dirFd`; digests in `cache` whose stamp
 * (device, inode, size, mtime, ctime) still matches are reused, the racy-clean rule of
 * manifestFromDirectory applies to what is added to it.
 */
export async function manifestNative(
  dirFd: number,
  cache: DigestCache | undefined,
  options: NativeOptions,
): Promise<Manifest> {
  const find = await runTool("find", FIND_ARGS, { ...options, dirFd });
  // A listing cut short would read as files deleted: no manifest rather than a wrong one.
  if (find.status !== 0) {
    throw new Error(`find could not list the tree (status ${find.status}): ${find.errors.trim()}`);
  }
  const listing = find.output.toString("utf8");
  const fields = listing.split("\0");
  const manifest: Manifest = new Map();
  const directories: string[] = [];
  const toHash: Listed[] = [];
  const seen = new Set<string>();
  // Indexed reads, and the size and ctime taken out of the stamp only for files to hash:
  // under TCG a slice, a BigInt and a string per entry were a third of a warm manifest of
  // 10,000 files.
  for (let at = 0; at + FIELDS <= fields.length; at += FIELDS) {
    const type = fields[at] as string;
    const rel = fields[at + 3] as string;
    if (type === "d") {
      directories.push(rel);
    } else if (type === "l") {
      manifest.set(rel, { type: "symlink", target: fields[at + 4] as string });
    } else if (type === "f") {
      const stamp = fields[at + 1] as string;
      const mode = parseInt(fields[at + 2] as string, 8) & 0o7777;
      seen.add(rel);
      const cached = cache?.get(rel);
      if (cached && cached.stamp === stamp) {
        manifest.set(rel, { type: "file", size: cached.size, sha256: cached.sha256, mode });
      } else {
        // device:inode:size:mtime:ctime (find prints the device as one decimal number).
        const [, , size, , ctime] = stamp.split(":");
        const listed = { rel, stamp, size: Number(size), ctimeMs: Number(ctime) * 1000, mode };
        // Placeholder keeps find's order; replaced below (or dropped if the file vanished).
        manifest.set(rel, { type: "file", size: listed.size, sha256: "", mode });
        toHash.push(listed);
      }
    }
  }
  if (toHash.length > 0) await hashInto(dirFd, toHash, manifest, cache, options);
  if (cache) for (const rel of cache.keys()) if (!seen.has(rel)) cache.delete(rel);
  for (const empty of emptyDirectories(directories, [...directories, ...manifest.keys()])) {
    manifest.set(empty, { type: "directory" });
  }
  return manifest;
}

/** Hashes `files` with sha256sum (NUL-separated names in and out: no escaping to undo). */
async function hashInto(
  dirFd: number,
  files: Listed[],
  manifest: Manifest,
  cache: DigestCache | undefined,
  options: NativeOptions,
): Promise<void> {
  // Taken before any file is read: a write after this moment changes the ctime we compare.
  const startedMs = Date.now();
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  const digests =
    !options.background && files.length <= IN_PROCESS_MAX_FILES && bytes <= IN_PROCESS_MAX_BYTES
      ? hashInProcess(dirFd, files)
      : await hashWithSha256sum(dirFd, files, options);
  for (const file of files) {
    const sha256 = digests.get(file.rel);
    if (sha256 === undefined) {
      manifest.delete(file.rel); // vanished (or unreadable) since the listing
      cache?.delete(file.rel);
      continue;
    }
    manifest.set(file.rel, { type: "file", size: file.size, sha256, mode: file.mode });
    if (cache && startedMs - file.ctimeMs > RACY_WINDOW_MS) {
      cache.set(file.rel, { stamp: file.stamp, size: file.size, sha256 });
    } else {
      cache?.delete(file.rel);
    }
  }
}

/**
 * Below these, a diff hashes in the agent (OpenSSL through node:crypto) instead of starting
 * `xargs` and `sha256sum`: under TCG the two program starts cost about 0.6 s, where the
 * files an agent just edited (hashed again by every diff until they leave the racy window)
 * are typically a few dozen small ones.
 */
const IN_PROCESS_MAX_FILES = 512;
const IN_PROCESS_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Digests by name, read by path below the directory. A file gone meanwhile, or no longer a
 * regular file, is left out: opened without blocking and checked before the read, since a
 * FIFO swapped in would otherwise hang the agent's one thread, not just a child.
 */
function hashInProcess(dirFd: number, files: Listed[]): Map<string, string> {
  const digests = new Map<string, string>();
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
  for (const file of files) {
    let fd: number;
    try {
      fd = openSync(fdPath(dirFd, file.rel), flags);
    } catch {
      continue; // vanished, unreadable or a symlink now, as sha256sum would leave it out
    }
    try {
      if (fstatSync(fd).isFile()) {
        digests.set(file.rel, createHash("sha256").update(readFileSync(fd)).digest("hex"));
      }
    } catch {
      // unreadable: left out
    } finally {
      closeSync(fd);
    }
  }
  return digests;
}

/**
 * Digests by name from `sha256sum` (batched by xargs). One xargs per CPU, each with its own
 * output file (`xargs -P` would interleave the outputs of its children mid-record). A name
 * missing from the output (the file vanished, or the output was cut short) is hashed again
 * here, which tells a file that is gone from one that is not.
 */
async function hashWithSha256sum(
  dirFd: number,
  files: Listed[],
  options: NativeOptions,
): Promise<Map<string, string>> {
  const groups = Math.max(1, Math.min(4, os.cpus().length, Math.ceil(files.length / 256)));
  const outputs = await Promise.all(
    Array.from({ length: groups }, (_, group) =>
      runTool("xargs", ["-0", "-r", "sha256sum", "-z", "--"], {
        ...options,
        dirFd,
        input: files
          .filter((_, index) => index % groups === group)
          .map((file) => `${file.rel}\0`)
          .join(""),
      }),
    ),
  );
  const digests = new Map<string, string>();
  for (const line of Buffer.concat(outputs.map((run) => run.output))
    .toString("utf8")
    .split("\0")) {
    // `<64 hex><space><space or *><name>`
    if (line.length > 66 && /^[0-9a-f]{64}$/.test(line.slice(0, 64))) {
      digests.set(line.slice(66), line.slice(0, 64));
    }
  }
  const missing = files.filter((file) => !digests.has(file.rel));
  for (const [rel, sha256] of hashInProcess(dirFd, missing)) digests.set(rel, sha256);
  return digests;
}
