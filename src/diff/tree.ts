/**
 * In-memory snapshots of a workspace tree, loaded from a host directory or a
 * tar archive. Both loaders produce the same shape so the diff engine does not
 * care where a side came from.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use
 * Node 18 APIs here.
 */
import { readFile, readdir, readlink, lstat } from "node:fs";
import type { Dirent, Stats } from "node:fs";
import { join } from "node:path";
import { list as tarList } from "tar";
import type { ReadEntry } from "tar";

export type TreeEntry =
  { type: "file"; content: Buffer } | { type: "symlink"; target: string } | { type: "directory" };

export type TreeEntryType = TreeEntry["type"];

/**
 * Keyed by POSIX relative path, without a leading `./` or a trailing `/`.
 * The root itself is never an entry.
 */
export type Tree = Map<string, TreeEntry>;

/** Maximum number of filesystem operations in flight while reading a directory. */
const FS_CONCURRENCY = 64;

/**
 * Run `task` over `items` with at most `limit` in flight. Workers pull the next
 * index, so there is no per-item queueing overhead. Rejects on the first error
 * (remaining workers stop picking up new items).
 */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.min(limit, items.length); i++) workers.push(worker());
  await Promise.all(workers);
}

// Callback APIs wrapped by hand: on Node 18 they are noticeably cheaper per call
// than fs/promises (no FileHandle bookkeeping), which matters for many small files.
function readFileP(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readFile(path, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

function readlinkP(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    readlink(path, "utf8", (err, target) => (err ? reject(err) : resolve(target)));
  });
}

function readdirP(path: string): Promise<Dirent[]> {
  return new Promise((resolve, reject) => {
    readdir(path, { withFileTypes: true }, (err, entries) =>
      err ? reject(err) : resolve(entries),
    );
  });
}

function lstatP(path: string): Promise<Stats> {
  return new Promise((resolve, reject) => {
    lstat(path, (err, stats) => (err ? reject(err) : resolve(stats)));
  });
}

/** Errors meaning "this path changed under us while we were reading": skip it. */
function isVanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

type Kind = "file" | "directory" | "symlink" | "other";

function kindOf(entry: Dirent | Stats): Kind | undefined {
  if (entry.isFile()) return "file";
  if (entry.isDirectory()) return "directory";
  if (entry.isSymbolicLink()) return "symlink";
  if (entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice()) {
    return "other";
  }
  return undefined;
}

/**
 * Snapshot a host directory. Symlinks are recorded, never followed; sockets,
 * FIFOs and device nodes are skipped. Entry types come from `readdir`'s
 * `d_type` (the same information `lstat` gives); when the filesystem does not
 * report it, the entry is `lstat`ed explicitly.
 *
 * Directories are listed level by level, then files and symlinks are read,
 * each phase with bounded concurrency. Entries that vanish while the tree is
 * being read are skipped.
 */
export async function treeFromDirectory(dir: string): Promise<Tree> {
  const tree: Tree = new Map();
  const leaves: Array<{ abs: string; rel: string; kind: Kind | undefined }> = [];

  let level: Array<{ abs: string; rel: string }> = [{ abs: dir, rel: "" }];
  let isRoot = true;
  while (level.length > 0) {
    const nextLevel: Array<{ abs: string; rel: string }> = [];
    await forEachLimit(level, FS_CONCURRENCY, async ({ abs, rel }) => {
      let children: Dirent[];
      try {
        children = await readdirP(abs);
      } catch (err) {
        // The root must exist; a subdirectory may disappear (or be swapped) under us.
        if (isRoot || !isVanished(err)) throw err;
        tree.delete(rel);
        return;
      }
      for (const child of children) {
        const childAbs = join(abs, child.name);
        const childRel = rel === "" ? child.name : `${rel}/${child.name}`;
        const kind = kindOf(child);
        if (kind === "directory") {
          tree.set(childRel, { type: "directory" });
          nextLevel.push({ abs: childAbs, rel: childRel });
        } else if (kind !== "other") {
          leaves.push({ abs: childAbs, rel: childRel, kind });
        }
      }
    });
    level = nextLevel;
    isRoot = false;
  }

  const unknownDirs: Array<{ abs: string; rel: string }> = [];
  await forEachLimit(leaves, FS_CONCURRENCY, async ({ abs, rel, kind }) => {
    try {
      if (kind === undefined) {
        // d_type was not reported: ask lstat.
        kind = kindOf(await lstatP(abs));
        if (kind === "directory") {
          tree.set(rel, { type: "directory" });
          unknownDirs.push({ abs, rel });
          return;
        }
      }
      if (kind === "file") {
        tree.set(rel, { type: "file", content: await readFileP(abs) });
      } else if (kind === "symlink") {
        tree.set(rel, { type: "symlink", target: await readlinkP(abs) });
      }
    } catch (err) {
      if (!isVanished(err)) throw err;
    }
  });

  // Only reachable on filesystems without d_type: descend into those directories.
  for (const { abs, rel } of unknownDirs) {
    let sub: Tree;
    try {
      sub = await treeFromDirectory(abs);
    } catch (err) {
      if (!isVanished(err)) throw err;
      tree.delete(rel);
      continue;
    }
    for (const [subRel, entry] of sub) tree.set(`${rel}/${subRel}`, entry);
  }
  return tree;
}

/**
 * Normalise a tar member name into a tree key: drops empty and `.` segments
 * (so a leading `./`, a leading `/`, a trailing `/` and doubled slashes all
 * disappear). Returns `null` for the archive root and for names containing
 * `..`, which cannot be placed inside the tree.
 */
export function normalizeTarPath(name: string): string | null {
  const parts: string[] = [];
  for (const segment of name.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") return null;
    parts.push(segment);
  }
  return parts.length === 0 ? null : parts.join("/");
}

export interface TreeFromTarOptions {
  /**
   * Abort when decompressed bytes exceed this multiple of compressed bytes.
   * Defaults to node-tar's own default (1000); `Infinity` disables the guard.
   */
  maxDecompressionRatio?: number;
}

/**
 * Snapshot a tar archive, given as its bytes or as a file path. Gzip (and the
 * other compressions node-tar detects) is handled transparently. Hard links
 * take the content of their target when the target is a regular file present
 * in the archive (even if it comes later), and are skipped otherwise. Device nodes and FIFOs are
 * skipped. Later members replace earlier ones with the same name, as they
 * would on extraction.
 *
 * Rejects on a malformed, truncated or unrecognised archive, and (by default)
 * when a compressed archive inflates more than 1000x: node-tar's zip-bomb
 * guard, which a large run of zeros can also trip.
 */
export async function treeFromTar(
  source: Buffer | string,
  options: TreeFromTarOptions = {},
): Promise<Tree> {
  const tree: Tree = new Map();
  /** Hard links whose target was not a file when they were read: path -> target. */
  const pendingLinks = new Map<string, string>();

  const onReadEntry = (entry: ReadEntry): void => {
    const path = normalizeTarPath(entry.path);
    if (path === null) return;
    pendingLinks.delete(path); // a later member with the same name wins
    switch (entry.type) {
      case "File":
      case "OldFile":
      case "ContiguousFile": {
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => chunks.push(chunk));
        entry.on("end", () => {
          // Always copies, so the tree never aliases the caller's archive buffer.
          const content = Buffer.concat(chunks);
          tree.set(path, { type: "file", content });
        });
        return;
      }
      case "Directory":
        tree.set(path, { type: "directory" });
        return;
      case "SymbolicLink":
        tree.set(path, { type: "symlink", target: entry.linkpath ?? "" });
        return;
      case "Link": {
        const target = normalizeTarPath(entry.linkpath ?? "");
        const resolved = target === null ? undefined : tree.get(target);
        if (resolved?.type === "file") {
          tree.set(path, { type: "file", content: resolved.content });
        } else {
          // Target not seen (yet): node-tar's Pack sometimes writes a link before
          // its target, so try again once the whole archive has been read.
          tree.delete(path);
          if (target !== null) pendingLinks.set(path, target);
        }
        return;
      }
      default:
        // Devices, FIFOs and anything else that is not a plain filesystem entry.
        return;
    }
  };

  const parseOptions = {
    strict: true,
    onReadEntry,
    ...(options.maxDecompressionRatio === undefined
      ? {}
      : { maxDecompressionRatio: options.maxDecompressionRatio }),
  };
  // `list` resumes every entry after onReadEntry, so unread bodies are drained.
  if (typeof source === "string") {
    await tarList({ ...parseOptions, file: source });
  } else {
    await new Promise<void>((resolve, reject) => {
      const parser = tarList(parseOptions);
      parser.on("error", reject);
      parser.on("end", () => resolve());
      parser.end(source);
    });
  }

  // Resolve deferred links, following chains (link -> pending link -> file) in
  // any order. Links whose target never appears, or that form a cycle, are skipped.
  // Each link is removed from `pendingLinks` before its target is followed, so a
  // cycle ends at a path that is no longer pending and has no tree entry.
  const resolveLink = (path: string): TreeEntry | undefined => {
    const target = pendingLinks.get(path);
    if (target === undefined) return tree.get(path);
    pendingLinks.delete(path);
    const resolved = resolveLink(target);
    if (resolved?.type === "file") tree.set(path, { type: "file", content: resolved.content });
    return tree.get(path);
  };
  for (const path of [...pendingLinks.keys()]) resolveLink(path);
  return tree;
}
