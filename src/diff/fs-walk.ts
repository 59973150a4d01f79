/**
 * Bounded-concurrency directory walking shared by the tree and manifest loaders.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use
 * Node 18 APIs here.
 */
import { lstatSync, readdirSync } from "node:fs";
import type { Dirent, Stats } from "node:fs";
import { join } from "node:path";

/** How long synchronous filesystem work may hold the event loop before yielding. */
const SLICE_MS = 10;

/**
 * Runs `task` over `items` synchronously, yielding to the event loop every few
 * milliseconds so an agent walking a large tree keeps answering other requests.
 *
 * Synchronous calls, not the thread pool: for many small files each async call
 * pays a hand-off to a pool thread and back. On a host that makes a walk about
 * twice as slow; in a guest under software emulation (TCG), where every thread
 * switch is emulated, a 10,000-file manifest took 60 s async and 5 s sync.
 */
export async function forEachSliced<T>(items: Iterable<T>, task: (item: T) => void): Promise<void> {
  let sliceStart = Date.now();
  let count = 0;
  for (const item of items) {
    task(item);
    if (++count % 16 === 0 && Date.now() - sliceStart >= SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = Date.now();
    }
  }
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
 * Lists a host directory: directories level by level (see forEachSliced).
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
    await forEachSliced(level, ({ abs, rel }) => {
      let children: Dirent[];
      try {
        children = readdirSync(abs, { withFileTypes: true });
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
      kind = kindOf(lstatSync(abs));
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
