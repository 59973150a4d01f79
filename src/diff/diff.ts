/**
 * Compare two workspace trees and describe the changes, with unified text
 * patches for text files.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use
 * Node 18 APIs here.
 */
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from "diff";
import type { Tree, TreeEntry, TreeEntryType } from "./tree.js";

export type DiffStatus = "added" | "modified" | "deleted" | "type_changed";

export interface DiffEntry {
  path: string;
  status: DiffStatus;
  /** The current type, or the baseline type for a deleted entry. */
  artifact_type: TreeEntryType;
  /** Unified diff for a file whose both sides are text (an absent side counts as empty). */
  text_patch: string | null;
}

export interface DiffSummary {
  total: number;
  added: number;
  modified: number;
  deleted: number;
  type_changed: number;
  text_patched: number;
  non_text: number;
}

export interface WorkspaceDiff {
  changed: boolean;
  summary: DiffSummary;
  entries: DiffEntry[];
  /** Every text_patch, concatenated in entry order; "" when there is none. */
  patch: string;
}

/** Lines of context around each hunk, as in `diff -u` and `git diff`. */
const PATCH_CONTEXT = 3;

/**
 * The entries a tree contributes to a diff: files, symlinks, and directories
 * that have no children in that tree. A non-empty directory is implied by its
 * children and is never compared itself.
 */
export function comparableEntries(tree: Tree): Map<string, TreeEntry> {
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

/**
 * Decode `content` as UTF-8 when it is text: valid UTF-8 with no NUL byte.
 * Validity is checked by round-tripping (invalid sequences decode to U+FFFD and
 * re-encode differently), which needs neither ICU nor `buffer.isUtf8`.
 */
export function decodeText(content: Buffer): string | null {
  if (content.indexOf(0) !== -1) return null;
  const text = content.toString("utf8");
  // Cheap length check first: a replacement usually changes the byte count.
  if (Buffer.byteLength(text, "utf8") !== content.length) return null;
  return Buffer.from(text, "utf8").equals(content) ? text : null;
}

function sameContent(a: TreeEntry, b: TreeEntry): boolean {
  if (a.type === "file" && b.type === "file") return a.content.equals(b.content);
  if (a.type === "symlink" && b.type === "symlink") return a.target === b.target;
  return a.type === "directory" && b.type === "directory";
}

function textPatch(
  path: string,
  before: TreeEntry | undefined,
  after: TreeEntry | undefined,
): string | null {
  if (before !== undefined && before.type !== "file") return null;
  if (after !== undefined && after.type !== "file") return null;
  const oldText = before === undefined ? "" : decodeText(before.content);
  if (oldText === null) return null;
  const newText = after === undefined ? "" : decodeText(after.content);
  if (newText === null) return null;
  // No header suffix (undefined headers), no Index:/==== lines.
  return createTwoFilesPatch(
    before === undefined ? "/dev/null" : `a/${path}`,
    after === undefined ? "/dev/null" : `b/${path}`,
    oldText,
    newText,
    undefined,
    undefined,
    { context: PATCH_CONTEXT, headerOptions: FILE_HEADERS_ONLY },
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compare `current` against `baseline`. Entries are sorted by path. */
export function diffTrees(baseline: Tree, current: Tree): WorkspaceDiff {
  const before = comparableEntries(baseline);
  const after = comparableEntries(current);

  const paths: string[] = [];
  for (const path of before.keys()) paths.push(path);
  for (const path of after.keys()) if (!before.has(path)) paths.push(path);
  paths.sort(compareStrings);

  const entries: DiffEntry[] = [];
  const summary: DiffSummary = {
    total: 0,
    added: 0,
    modified: 0,
    deleted: 0,
    type_changed: 0,
    text_patched: 0,
    non_text: 0,
  };
  const patches: string[] = [];

  for (const path of paths) {
    const old = before.get(path);
    const cur = after.get(path);
    let entry: DiffEntry;
    if (old === undefined) {
      if (cur === undefined) continue; // unreachable: every path comes from one side
      entry = {
        path,
        status: "added",
        artifact_type: cur.type,
        text_patch: textPatch(path, undefined, cur),
      };
    } else if (cur === undefined) {
      entry = {
        path,
        status: "deleted",
        artifact_type: old.type,
        text_patch: textPatch(path, old, undefined),
      };
    } else if (old.type !== cur.type) {
      entry = { path, status: "type_changed", artifact_type: cur.type, text_patch: null };
    } else if (!sameContent(old, cur)) {
      entry = {
        path,
        status: "modified",
        artifact_type: cur.type,
        text_patch: textPatch(path, old, cur),
      };
    } else {
      continue;
    }
    entries.push(entry);
    summary[entry.status]++;
    if (entry.text_patch !== null) {
      summary.text_patched++;
      patches.push(entry.text_patch);
    }
  }

  summary.total = entries.length;
  summary.non_text = summary.total - summary.text_patched;
  return { changed: summary.total > 0, summary, entries, patch: patches.join("") };
}
