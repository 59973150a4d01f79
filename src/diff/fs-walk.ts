/**
 * Bounded-concurrency directory walking shared by the tree and manifest loaders.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use
 * Node 18 APIs here.
 */
import { closeSync, readdirSync } from "node:fs";
import type { Dirent, Stats } from "node:fs";

import { fdPath, lstatAt, openDirectory, openDirectoryAt } from "../no-follow.js";

/** How long synchronous filesystem work may hold the event loop before yielding. */
const SLICE_MS = 10;

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

/** A file or symlink found by walkDirectory, named relative to its open parent directory. */
interface WalkedLeaf {
  /** The parent directory's descriptor: open only while the visitor runs. */
  dirFd: number;
  name: string;
  /** Path relative to the walk's root. */
  rel: string;
  type: "file" | "symlink";
}

/**
 * Walks a directory depth first, without ever following a symlink: each subdirectory is
 * opened relative to its parent's descriptor with O_NOFOLLOW (see no-follow.ts), so a
 * directory swapped for a symlink while we walk is skipped, never entered. `visit` sees
 * every file and symlink while its parent is open, and must read it relative to `dirFd`
 * (openFileAt, readlinkAt) for the same guarantee. Sockets, FIFOs and device nodes are
 * skipped; entry types come from `readdir`'s `d_type` (lstat when the filesystem does not
 * report it). Entries that vanish while the tree is being read are skipped.
 *
 * `dir` is a path (its last component must not be a symlink) or an open directory
 * descriptor, which stays the caller's. Returns every directory below the root (relative
 * paths). Open descriptors: one per level of depth.
 */
export async function walkDirectory(
  dir: string | number,
  visit: (leaf: WalkedLeaf) => void | Promise<void>,
): Promise<Set<string>> {
  const directories = new Set<string>();
  const slicer = new Slicer();
  const rootFd = typeof dir === "number" ? dir : openDirectory(dir);
  try {
    await walkInto(rootFd, "", directories, visit, slicer);
  } finally {
    if (typeof dir !== "number") closeSync(rootFd);
  }
  return directories;
}

async function walkInto(
  dirFd: number,
  rel: string,
  directories: Set<string>,
  visit: (leaf: WalkedLeaf) => void | Promise<void>,
  slicer: Slicer,
): Promise<void> {
  const children = readdirSync(fdPath(dirFd), { withFileTypes: true });
  for (const child of children) {
    if (slicer.due()) await slicer.pause();
    const childRel = rel === "" ? child.name : `${rel}/${child.name}`;
    let kind = kindOf(child);
    if (kind === undefined) {
      // Only reachable on filesystems without d_type.
      try {
        kind = kindOf(lstatAt(dirFd, child.name));
      } catch (err) {
        if (!isVanished(err)) throw err;
        continue;
      }
    }
    if (kind === "file" || kind === "symlink") {
      const pending = visit({ dirFd, name: child.name, rel: childRel, type: kind });
      if (pending) await pending;
    } else if (kind === "directory") {
      let subFd: number;
      try {
        subFd = openDirectoryAt(dirFd, child.name);
      } catch (err) {
        // Gone, or swapped for a symlink or a file since readdir: not a directory now.
        if (isVanished(err) || (err as NodeJS.ErrnoException).code === "ELOOP") continue;
        throw err;
      }
      directories.add(childRel);
      try {
        await walkInto(subFd, childRel, directories, visit, slicer);
      } finally {
        closeSync(subFd);
      }
    }
  }
}

/**
 * A walk's clock: yield to the event loop every SLICE_MS. The walk itself stays synchronous:
 * for many small files each async call pays a hand-off to a pool thread and back (about twice
 * as slow on a host; under TCG a 10,000-file manifest took 60 s async and 5 s sync).
 */
class Slicer {
  private sliceStart = Date.now();
  private count = 0;

  due(): boolean {
    return ++this.count % 16 === 0 && Date.now() - this.sliceStart >= SLICE_MS;
  }

  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = Date.now();
  }
}
