/**
 * Bounded-concurrency directory walking shared by the tree and manifest loaders.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use
 * Node 18 APIs here.
 */
import { readFile, readdir, readlink, lstat } from "node:fs";
import type { Dirent, Stats } from "node:fs";
import { join } from "node:path";

/** Maximum number of filesystem operations in flight while reading a directory. */
export const FS_CONCURRENCY = 64;

/**
 * Run `task` over `items` with at most `limit` in flight. Workers pull the next
 * index, so there is no per-item queueing overhead. Rejects on the first error
 * (remaining workers stop picking up new items).
 */
export async function forEachLimit<T>(
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
export function readFileP(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readFile(path, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

export function readlinkP(path: string): Promise<string> {
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

export function lstatP(path: string): Promise<Stats> {
  return new Promise((resolve, reject) => {
    lstat(path, (err, stats) => (err ? reject(err) : resolve(stats)));
  });
}

/** Errors meaning "this path changed under us while we were reading": skip it. */
export function isVanished(err: unknown): boolean {
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

export interface WalkedTree {
  /** Every directory below the root (relative paths). */
  directories: Set<string>;
  /** Files and symlinks, with absolute and relative paths. */
  leaves: Array<{ abs: string; rel: string; type: "file" | "symlink" }>;
}

/**
 * Lists a host directory: directories level by level, with bounded concurrency.
 * Symlinks are recorded, never followed; sockets, FIFOs and device nodes are
 * skipped. Entry types come from `readdir`'s `d_type`; when the filesystem does
 * not report it, the entry is `lstat`ed. Entries that vanish while the tree is
 * being read are skipped.
 */
export async function walkDirectory(dir: string): Promise<WalkedTree> {
  const directories = new Set<string>();
  const leaves: WalkedTree["leaves"] = [];
  const unknown: Array<{ abs: string; rel: string }> = [];

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
        directories.delete(rel);
        return;
      }
      for (const child of children) {
        const childAbs = join(abs, child.name);
        const childRel = rel === "" ? child.name : `${rel}/${child.name}`;
        const kind = kindOf(child);
        if (kind === "directory") {
          directories.add(childRel);
          nextLevel.push({ abs: childAbs, rel: childRel });
        } else if (kind === "file" || kind === "symlink") {
          leaves.push({ abs: childAbs, rel: childRel, type: kind });
        } else if (kind === undefined) {
          unknown.push({ abs: childAbs, rel: childRel });
        }
      }
    });
    level = nextLevel;
    isRoot = false;
  }

  // Only reachable on filesystems without d_type: ask lstat, descend into directories.
  for (const { abs, rel } of unknown) {
    let kind: Kind | undefined;
    try {
      kind = kindOf(await lstatP(abs));
    } catch (err) {
      if (!isVanished(err)) throw err;
      continue;
    }
    if (kind === "file" || kind === "symlink") {
      leaves.push({ abs, rel, type: kind });
    } else if (kind === "directory") {
      directories.add(rel);
      let sub: WalkedTree;
      try {
        sub = await walkDirectory(abs);
      } catch (err) {
        if (!isVanished(err)) throw err;
        directories.delete(rel);
        continue;
      }
      for (const subDir of sub.directories) directories.add(`${rel}/${subDir}`);
      for (const leaf of sub.leaves) leaves.push({ ...leaf, rel: `${rel}/${leaf.rel}` });
    }
  }
  return { directories, leaves };
}
