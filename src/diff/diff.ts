/**
 * Compare two workspace trees and describe the changes, with unified text
 * patches for text files.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use
 * Node 18 APIs here.
 */
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from "diff";
import type { Manifest, ManifestEntry } from "./manifest.js";
import type { TreeEntryType } from "./tree.js";

/**
 * `mode_changed`: a file whose permission bits changed and nothing else; `modified`: a file
 * whose content (or a symlink whose target) changed, with its mode too when old_mode and
 * new_mode say so.
 */
type DiffStatus = "added" | "modified" | "deleted" | "type_changed" | "mode_changed";

export interface DiffEntry {
  path: string;
  status: DiffStatus;
  /** The current type, or the baseline type for a deleted entry. */
  artifact_type: TreeEntryType;
  /**
   * Unified diff for a file whose both sides are text (an absent side counts as empty). A
   * mode change adds git's `diff --git` / `old mode` / `new mode` header (alone for a
   * mode-only change, so its patch exists whatever the content).
   */
  text_patch: string | null;
  /** Git-style file modes (`100755`) of both sides when the permission bits changed, else null. */
  old_mode: string | null;
  new_mode: string | null;
}

export interface DiffSummary {
  total: number;
  added: number;
  modified: number;
  deleted: number;
  type_changed: number;
  mode_changed: number;
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
 * Decode `content` as UTF-8 when it is text: valid UTF-8 with no NUL byte.
 * Validity is checked by round-tripping (invalid sequences decode to U+FFFD and
 * re-encode differently), which needs neither ICU nor `buffer.isUtf8`.
 */
function decodeText(content: Buffer): string | null {
  if (content.indexOf(0) !== -1) return null;
  const text = content.toString("utf8");
  // Cheap length check first: a replacement usually changes the byte count.
  if (Buffer.byteLength(text, "utf8") !== content.length) return null;
  return Buffer.from(text, "utf8").equals(content) ? text : null;
}

/** Permission bits of a file entry; undefined when unknown (an older agent's manifest). */
function manifestMode(entry: ManifestEntry): number | undefined {
  return entry.type === "file" ? entry.mode : undefined;
}

function sameDigest(a: ManifestEntry, b: ManifestEntry): boolean {
  if (a.type === "file" && b.type === "file") return a.sha256 === b.sha256 && a.size === b.size;
  if (a.type === "symlink" && b.type === "symlink") return a.target === b.target;
  return a.type === "directory" && b.type === "directory";
}

/**
 * A unified diff between two file bodies (an absent side counts as empty text),
 * or null when either side is not text.
 */
export function textPatch(
  path: string,
  before: Buffer | undefined,
  after: Buffer | undefined,
): string | null {
  const oldText = before === undefined ? "" : decodeText(before);
  if (oldText === null) return null;
  const newText = after === undefined ? "" : decodeText(after);
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

interface Change<E> {
  path: string;
  status: DiffStatus;
  artifact_type: TreeEntryType;
  before: E | undefined;
  after: E | undefined;
  /** Both sides' permission bits, when they differ. */
  modes?: { before: number; after: number };
}

/** A file's mode as git writes it: the regular-file type bits and the permission bits in octal. */
function gitMode(permissions: number): string {
  return (0o100000 | permissions).toString(8);
}

/** Git's extended header for a mode change (`git apply` and GNU patch both act on it). */
function modeHeader(path: string, modes: { before: number; after: number }): string {
  return (
    `diff --git a/${path} b/${path}\n` +
    `old mode ${gitMode(modes.before)}\nnew mode ${gitMode(modes.after)}\n`
  );
}

/**
 * Which comparable entries changed, and how, sorted by path. `modeOf` gives a file's
 * permission bits (undefined: unknown, never reported as a change).
 */
export function classify<E extends { type: TreeEntryType }>(
  before: ReadonlyMap<string, E>,
  after: ReadonlyMap<string, E>,
  same: (a: E, b: E) => boolean,
  modeOf: (entry: E) => number | undefined,
): Change<E>[] {
  const paths: string[] = [];
  for (const path of before.keys()) paths.push(path);
  for (const path of after.keys()) if (!before.has(path)) paths.push(path);
  paths.sort(compareStrings);
  const changes: Change<E>[] = [];
  for (const path of paths) {
    const old = before.get(path);
    const cur = after.get(path);
    if (old === undefined && cur !== undefined) {
      changes.push({ path, status: "added", artifact_type: cur.type, before: old, after: cur });
    } else if (cur === undefined && old !== undefined) {
      changes.push({ path, status: "deleted", artifact_type: old.type, before: old, after: cur });
    } else if (old !== undefined && cur !== undefined && old.type !== cur.type) {
      changes.push({
        path,
        status: "type_changed",
        artifact_type: cur.type,
        before: old,
        after: cur,
      });
    } else if (old !== undefined && cur !== undefined) {
      const oldMode = modeOf(old);
      const newMode = modeOf(cur);
      const modes =
        oldMode !== undefined && newMode !== undefined && oldMode !== newMode
          ? { before: oldMode, after: newMode }
          : undefined;
      const status = !same(old, cur) ? "modified" : modes ? "mode_changed" : null;
      if (status === null) continue;
      changes.push({
        path,
        status,
        artifact_type: cur.type,
        before: old,
        after: cur,
        ...(modes ? { modes } : {}),
      });
    }
  }
  return changes;
}

/**
 * True when a text patch of the content is possible: no side is anything but a file, and
 * it is no type change (nor a mode-only change, whose content is the same).
 */
function patchable<E extends { type: TreeEntryType }>(change: Change<E>): boolean {
  return (
    change.status !== "type_changed" &&
    change.status !== "mode_changed" &&
    (change.before === undefined || change.before.type === "file") &&
    (change.after === undefined || change.after.type === "file")
  );
}

export function assemble<E extends { type: TreeEntryType }>(
  changes: Change<E>[],
  patchFor: (change: Change<E>) => string | null,
): WorkspaceDiff {
  const summary: DiffSummary = {
    total: changes.length,
    added: 0,
    modified: 0,
    deleted: 0,
    type_changed: 0,
    mode_changed: 0,
    text_patched: 0,
    non_text: 0,
  };
  const patches: string[] = [];
  const entries = changes.map((change): DiffEntry => {
    let text_patch = patchable(change) ? patchFor(change) : null;
    if (change.modes && (text_patch !== null || change.status === "mode_changed")) {
      text_patch = modeHeader(change.path, change.modes) + (text_patch ?? "");
    }
    summary[change.status]++;
    if (text_patch !== null) {
      summary.text_patched++;
      patches.push(text_patch);
    }
    return {
      path: change.path,
      status: change.status,
      artifact_type: change.artifact_type,
      text_patch,
      old_mode: change.modes ? gitMode(change.modes.before) : null,
      new_mode: change.modes ? gitMode(change.modes.after) : null,
    };
  });
  summary.non_text = summary.total - summary.text_patched;
  return { changed: summary.total > 0, summary, entries, patch: patches.join("") };
}

/** Fetches file bodies for the paths a manifest diff needs to patch. */
interface ContentLoader {
  before(paths: string[]): Promise<Map<string, Buffer>>;
  after(paths: string[]): Promise<Map<string, Buffer>>;
}

/**
 * Text patches are skipped (the entry counts as non-text) for files larger than
 * this: a multi-megabyte patch helps neither a terminal nor a model.
 */
export const MAX_PATCH_FILE_BYTES = 2 * 1024 * 1024;

/**
 * Compare two manifests; only the bodies of changed files small enough to patch
 * are fetched through `loader`. Gives the same result as the tree oracle (test/tree-oracle.ts) on the
 * trees the manifests were made from (up to MAX_PATCH_FILE_BYTES).
 */
export async function diffManifests(
  before: Manifest,
  after: Manifest,
  loader: ContentLoader,
): Promise<WorkspaceDiff> {
  const changes = classify(before, after, sameDigest, manifestMode);
  const small = (entry: ManifestEntry | undefined): entry is ManifestEntry & { type: "file" } =>
    entry?.type === "file" && entry.size <= MAX_PATCH_FILE_BYTES;
  const wanted = changes.filter(
    (change) =>
      patchable(change) &&
      (change.before === undefined || small(change.before)) &&
      (change.after === undefined || small(change.after)),
  );
  const [oldBodies, newBodies] = await Promise.all([
    loader.before(wanted.filter((change) => change.before).map((change) => change.path)),
    loader.after(wanted.filter((change) => change.after).map((change) => change.path)),
  ]);
  const wantedPaths = new Set(wanted.map((change) => change.path));
  return assemble(changes, (change) => {
    if (!wantedPaths.has(change.path)) return null;
    const oldBody = change.before ? oldBodies.get(change.path) : undefined;
    const newBody = change.after ? newBodies.get(change.path) : undefined;
    // A body that vanished between the manifest and the fetch cannot be patched honestly.
    if ((change.before && !oldBody) || (change.after && !newBody)) return null;
    return textPatch(change.path, oldBody, newBody);
  });
}
