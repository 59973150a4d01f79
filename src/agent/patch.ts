/**
 * `patch.apply`: a unified diff (one or many files, new and deleted files too) applied
 * all or nothing, where the files are.
 *
 * 1. Preflight: every file of the patch is opened without following a symlink, read whole
 *    (text only, bounded) and patched in memory with jsdiff. Any failure, in any file,
 *    stops here with a per-file report, and nothing on disk has changed.
 * 2. Stage: every new content is written to a temp file beside its target (fsynced), the
 *    parents of new files made. Then each target is checked to be the very file the
 *    preflight read (inode, size, mtime): a file changed meanwhile aborts, temps removed.
 * 3. Commit: the temps are renamed over their targets and deleted files unlinked.
 *
 * The residual window: a crash (the agent killed, the VM lost) during step 3, which is
 * only renames and unlinks, leaves the files renamed so far patched and the others not,
 * plus their `.pyro-tmp-*` temps; a crash during step 2 leaves only temps (and new empty
 * parent directories). An abort in step 2 may leave new empty parent directories too.
 */
import { closeSync, unlinkSync } from "node:fs";
import type { BigIntStats } from "node:fs";

import { applyPatch, parsePatch } from "diff";

import { PyroError, ValidationError } from "../errors.js";
import { fdPath } from "../no-follow.js";
import { FILE_LIMITS } from "../shared/file-limits.js";
import type { WorkspacePaths } from "../shared/guest-paths.js";
import {
  commitStaged,
  describeKind,
  lstatEntry,
  openParent,
  readRegularFile,
  removeStaged,
  stageFile,
  syncDirectory,
} from "./file-io.js";

type StructuredPatch = ReturnType<typeof parsePatch>[number];
type Status = "added" | "modified" | "deleted";

interface PatchFileReport {
  path: string;
  status: Status;
  hunks: number;
  ok: boolean;
  error?: string;
}

/** A file the preflight found patchable, with its new content. */
interface Planned {
  report: PatchFileReport;
  /** New content (null: delete). */
  content: Buffer | null;
  mode: number;
  /** What the preflight read (null: a new file, which must still be absent). */
  before: BigIntStats | null;
}

export function applyPatchText(paths: WorkspacePaths, patch: string) {
  const bytes = Buffer.byteLength(patch, "utf8");
  if (bytes > FILE_LIMITS.patchMaxBytes) {
    throw new PyroError(
      "limit_exceeded",
      `patch must be at most ${FILE_LIMITS.patchMaxBytes} bytes, got ${bytes}`,
      { field: "patch", limit: "patch_bytes", max: FILE_LIMITS.patchMaxBytes },
    );
  }
  if (/^GIT binary patch$/m.test(patch) || /^Binary files .* differ$/m.test(patch)) {
    throw new ValidationError("patch must be text-only: it has a binary change", {
      field: "patch",
    });
  }
  let parsed: StructuredPatch[];
  try {
    parsed = parsePatch(patch);
  } catch (error) {
    throw new ValidationError(`patch is not a unified diff: ${(error as Error).message}`, {
      field: "patch",
    });
  }
  parsed = parsed.filter(
    (entry) => entry.hunks.length > 0 || entry.oldFileName || entry.newFileName,
  );
  if (parsed.length === 0) {
    throw new ValidationError("patch has no file changes (expected ---/+++ headers and @@ hunks)", {
      field: "patch",
    });
  }
  if (parsed.length > FILE_LIMITS.patchMaxFiles) {
    throw new PyroError(
      "limit_exceeded",
      `patch must touch at most ${FILE_LIMITS.patchMaxFiles} files, got ${parsed.length}`,
      { field: "patch", limit: "patch_files", max: FILE_LIMITS.patchMaxFiles },
    );
  }

  const planned: Planned[] = [];
  const reports: PatchFileReport[] = [];
  const seen = new Set<string>();
  for (const entry of parsed) {
    const result = preflight(paths, entry, seen);
    reports.push(result.report);
    if (result.planned) planned.push(result.planned);
  }
  const failed = reports.filter((report) => !report.ok);
  if (failed.length > 0) {
    const what = failed.map((report) => `${report.path}: ${report.error}`).join("; ");
    throw new ValidationError(
      `patch does not apply, nothing was changed (${failed.length} of ${reports.length} files failed): ${what}`,
      { field: "patch", files: reports },
    );
  }
  commit(paths, planned);
  return { files: reports };
}

/** Where a patch entry goes, and what it does there; an error message when it cannot. */
function preflight(
  paths: WorkspacePaths,
  entry: StructuredPatch,
  seen: Set<string>,
): { report: PatchFileReport; planned?: Planned } {
  const oldName = stripPrefix(entry.oldFileName, "a/");
  const newName = stripPrefix(entry.newFileName, "b/");
  const status: Status =
    oldName === "/dev/null" ? "added" : newName === "/dev/null" ? "deleted" : "modified";
  const raw = status === "deleted" ? oldName : newName;
  const report: PatchFileReport = {
    path: raw ?? "(no file name)",
    status,
    hunks: entry.hunks.length,
    ok: false,
  };
  const fail = (error: string) => ({ report: { ...report, error } });
  if (!raw) return fail("the patch names no file (missing ---/+++ header)");
  if (status === "modified" && oldName !== newName) {
    return fail(`renames are not supported (--- ${oldName} +++ ${newName})`);
  }
  if (entry.hunks.length === 0) {
    return fail("no hunks (mode-only, rename or binary changes are not supported)");
  }
  let opened;
  try {
    opened = openParent(paths, raw, "path", { create: false });
  } catch (error) {
    // A new file's missing parent directories are made at commit.
    if (status === "added" && error instanceof PyroError && error.code === "not_found") {
      report.path = paths.resolve(raw, "path").guest;
      if (seen.has(report.path)) return fail("the patch changes this file twice");
      seen.add(report.path);
      return planAdded(report, entry, null);
    }
    return fail((error as Error).message);
  }
  try {
    report.path = opened.guest;
    if (seen.has(opened.guest)) return fail("the patch changes this file twice");
    seen.add(opened.guest);
    const existing = lstatEntry(opened.dirFd, opened.name);
    if (status === "added") {
      if (existing) return fail(`it already exists (${describeKindShort(existing)})`);
      return planAdded(report, entry, null);
    }
    if (!existing) return fail("it does not exist");
    if (!existing.isFile()) return fail(`it is ${describeKind(existing)}`);
    if (existing.size > BigInt(FILE_LIMITS.patchMaxFileBytes)) {
      return fail(`it is larger than ${FILE_LIMITS.patchMaxFileBytes} bytes`);
    }
    const { content, stats } = readRegularFile(opened, "path", FILE_LIMITS.patchMaxFileBytes);
    const text = decodeText(content);
    if (text === null) return fail("it is not a text file (binary or not UTF-8)");
    const patched = applyPatch(text, entry);
    if (patched === false) return fail(failedHunks(text, entry));
    if (status === "deleted" && patched !== "") {
      return fail("the patch deletes it but does not remove all of its content");
    }
    return {
      report: { ...report, ok: true },
      planned: {
        report,
        content: status === "deleted" ? null : Buffer.from(patched, "utf8"),
        mode: Number(stats.mode) & 0o7777,
        before: stats,
      },
    };
  } catch (error) {
    return fail((error as Error).message);
  } finally {
    closeSync(opened.dirFd);
  }
}

function planAdded(
  report: PatchFileReport,
  entry: StructuredPatch,
  before: null,
): { report: PatchFileReport; planned?: Planned } {
  const patched = applyPatch("", entry);
  if (patched === false) {
    return { report: { ...report, error: "the new file's hunks do not apply to an empty file" } };
  }
  return {
    report: { ...report, ok: true },
    planned: { report, content: Buffer.from(patched, "utf8"), mode: 0o644, before },
  };
}

/** Which hunks do not fit, each tried alone against the file, for the report. */
function failedHunks(text: string, entry: StructuredPatch): string {
  const failing: string[] = [];
  entry.hunks.forEach((hunk, index) => {
    if (applyPatch(text, { ...entry, hunks: [hunk] }) === false) {
      failing.push(
        `hunk ${index + 1} of ${entry.hunks.length} (@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@)`,
      );
    }
  });
  if (failing.length === 0) return "its hunks fit one by one but not together, in order";
  return `${failing.join(", ")} ${failing.length === 1 ? "does" : "do"} not match the file`;
}

function commit(paths: WorkspacePaths, planned: Planned[]): void {
  const staged: Array<{ dirFd: number; name: string; temp: string | null; item: Planned }> = [];
  try {
    for (const item of planned) {
      const opened = openParent(paths, item.report.path, "path", { create: item.before === null });
      staged.push({ dirFd: opened.dirFd, name: opened.name, temp: null, item });
      const slot = staged[staged.length - 1] as (typeof staged)[number];
      if (item.content !== null) slot.temp = stageFile(opened.dirFd, item.content, item.mode);
    }
    for (const { dirFd, name, item } of staged) {
      const now = lstatEntry(dirFd, name);
      const unchanged =
        item.before === null
          ? now === null
          : now !== null &&
            now.ino === item.before.ino &&
            now.dev === item.before.dev &&
            now.size === item.before.size &&
            now.mtimeNs === item.before.mtimeNs;
      if (!unchanged) {
        throw new PyroError(
          "invalid_state",
          `patch not applied, nothing was changed: '${item.report.path}' changed while the patch was being applied; apply it again`,
          { field: "patch", path: item.report.path },
        );
      }
    }
    for (const slot of staged) {
      if (slot.temp !== null) {
        commitStaged(slot.dirFd, slot.temp, slot.name);
        slot.temp = null;
      } else {
        unlinkSync(fdPath(slot.dirFd, slot.name));
      }
    }
    for (const { dirFd } of staged) syncDirectory(dirFd);
  } finally {
    for (const slot of staged) {
      if (slot.temp !== null) removeStaged(slot.dirFd, slot.temp);
      closeSync(slot.dirFd);
    }
  }
}

/** `a/x` → `x` (git's prefixes); undefined and /dev/null pass through. */
function stripPrefix(name: string | undefined, prefix: string): string | undefined {
  if (name === undefined) return undefined;
  const trimmed = name.trim();
  return trimmed.startsWith(prefix) ? trimmed.slice(prefix.length) : trimmed;
}

function describeKindShort(stats: BigIntStats): string {
  return stats.isFile() ? "a file" : describeKind(stats);
}

/** UTF-8 text without NUL bytes, or null. */
function decodeText(content: Buffer): string | null {
  if (content.includes(0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(content);
  } catch {
    return null;
  }
}
