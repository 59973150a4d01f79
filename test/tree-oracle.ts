/**
 * The tree-diff oracle: whole trees in memory (every file body read), diffed body against
 * body. The real diff compares digests (src/diff/manifest.ts, diffManifests); the tests
 * check it against this simpler model on the same trees.
 */
import { createHash } from "node:crypto";
import { closeSync, lstatSync, readFileSync } from "node:fs";

import { assemble, classify, textPatch, type WorkspaceDiff } from "../src/diff/diff.js";
import { isVanished, walkDirectory } from "../src/diff/fs-walk.js";
import type { Manifest } from "../src/diff/manifest.js";
import type { Tree, TreeEntry } from "../src/diff/tree.js";
import { fdPath, openFileAt, readlinkAt } from "../src/no-follow.js";

/**
 * Snapshot a host directory (see walkDirectory for what is listed). Files and symlinks
 * are read relative to their parent's descriptor, never through a symlink; entries that
 * vanish or are swapped while the tree is being read are skipped.
 */
export async function treeFromDirectory(dir: string | number): Promise<Tree> {
  const tree: Tree = new Map();
  const directories = await walkDirectory(dir, ({ dirFd, name, rel, type }) => {
    if (type === "symlink") {
      const target = readlinkAt(dirFd, name);
      if (target !== null) tree.set(rel, { type: "symlink", target });
      return;
    }
    let fd: number | null;
    let mode: number;
    try {
      const stats = lstatSync(fdPath(dirFd, name));
      mode = stats.mode & 0o7777;
      fd = openFileAt(dirFd, name, stats);
    } catch (err) {
      if (isVanished(err)) return;
      throw err;
    }
    if (fd === null) return;
    try {
      tree.set(rel, { type: "file", content: readFileSync(fd), mode });
    } finally {
      closeSync(fd);
    }
  });
  for (const rel of directories) tree.set(rel, { type: "directory" });
  return tree;
}

/**
 * The entries a tree contributes to a diff: files, symlinks, and directories
 * that have no children in that tree. A non-empty directory is implied by its
 * children and is never compared itself.
 */
function comparableEntries(tree: Tree): Map<string, TreeEntry> {
  const parents = new Set<string>();
  for (const path of tree.keys()) {
    const slash = path.lastIndexOf("/");
    if (slash > 0) parents.add(path.slice(0, slash));
  }
  const result = new Map<string, TreeEntry>();
  for (const [path, entry] of tree) {
    if (entry.type === "directory" && parents.has(path)) continue;
    result.set(path, entry);
  }
  return result;
}

function sameContent(a: TreeEntry, b: TreeEntry): boolean {
  if (a.type === "file" && b.type === "file") return a.content.equals(b.content);
  if (a.type === "symlink" && b.type === "symlink") return a.target === b.target;
  return a.type === "directory" && b.type === "directory";
}

/** Compare `current` against `baseline`. Entries are sorted by path. */
export function diffTrees(baseline: Tree, current: Tree): WorkspaceDiff {
  const changes = classify(
    comparableEntries(baseline),
    comparableEntries(current),
    sameContent,
    (entry) => (entry.type === "file" ? entry.mode : undefined),
  );
  return assemble(changes, (change) =>
    textPatch(
      change.path,
      change.before?.type === "file" ? change.before.content : undefined,
      change.after?.type === "file" ? change.after.content : undefined,
    ),
  );
}

/** The manifest of an in-memory tree: what manifestFromDirectory gives for the same files. */
export function manifestFromTree(tree: Tree): Manifest {
  const comparable = comparableEntries(tree);
  const manifest: Manifest = new Map();
  const directories: string[] = [];
  for (const [path, entry] of tree) {
    if (entry.type === "file")
      manifest.set(path, {
        type: "file",
        size: entry.content.length,
        sha256: createHash("sha256").update(entry.content).digest("hex"),
        ...(entry.mode === undefined ? {} : { mode: entry.mode }),
      });
    else if (entry.type === "symlink")
      manifest.set(path, { type: "symlink", target: entry.target });
    else directories.push(path);
  }
  for (const dir of directories.filter((dir) => comparable.has(dir)))
    manifest.set(dir, { type: "directory" });
  return manifest;
}
