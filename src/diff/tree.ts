/**
 * In-memory snapshots of a workspace tree, loaded from a tar archive (the changed
 * files' bodies a diff fetches). The tests' oracle (test/tree-oracle.ts) loads the
 * same shape from a host directory.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use
 * Node 18 APIs here.
 */
import { list as tarList } from "tar";
import type { ReadEntry } from "tar";

export type TreeEntry =
  /** `mode`: the permission bits (07777), when known. */
  | { type: "file"; content: Buffer; mode?: number }
  | { type: "symlink"; target: string }
  | { type: "directory" };

export type TreeEntryType = TreeEntry["type"];

/**
 * Keyed by POSIX relative path, without a leading `./` or a trailing `/`.
 * The root itself is never an entry.
 */
export type Tree = Map<string, TreeEntry>;

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

interface TreeFromTarOptions {
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
        const mode = (entry.mode ?? 0o644) & 0o7777;
        entry.on("data", (chunk: Buffer) => chunks.push(chunk));
        entry.on("end", () => {
          // Always copies, so the tree never aliases the caller's archive buffer.
          const content = Buffer.concat(chunks);
          tree.set(path, { type: "file", content, mode });
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
          tree.set(path, resolved);
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
    if (resolved?.type === "file") tree.set(path, resolved);
    return tree.get(path);
  };
  for (const path of [...pendingLinks.keys()]) resolveLink(path);
  return tree;
}
