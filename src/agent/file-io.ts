/**
 * One file under /workspace, reached without following a symlink: its parent directory is
 * opened one component at a time (no-follow.ts) and the file itself is looked at by name
 * inside that descriptor. What the file operations (files.ts) and patch.ts share.
 *
 * Replacing a file is atomic: the new content goes to a temp file in the same directory,
 * is fsynced, and is renamed over the name, so a reader sees the old file or the new one,
 * never a torn one, and a symlink in the file's place is replaced, never written through.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import type { BigIntStats } from "node:fs";

import { NotFoundError, ValidationError } from "../errors.js";
import {
  UnsafePathError,
  fdPath,
  openDirectoryBelow,
  openFileAt,
  unsafePathError,
} from "../no-follow.js";
import { GUEST_WORKSPACE, type WorkspacePaths } from "../shared/guest-paths.js";

/** A file's parent directory, opened, and its name in it. The caller closes `dirFd`. */
interface OpenedParent {
  dirFd: number;
  name: string;
  /** The normalised guest path (`/workspace/...`). */
  guest: string;
}

/**
 * Opens the parent directory of the file at `raw` (a path under /workspace) without
 * following a symlink on the way; with `create`, missing directories are made. /workspace
 * itself is not a file and is refused.
 */
export function openParent(
  paths: WorkspacePaths,
  raw: string,
  field: string,
  options: { create?: boolean } = {},
): OpenedParent {
  const target = paths.resolve(raw, field);
  if (target.relative === "") {
    throw new ValidationError(`${field} must name a file below ${GUEST_WORKSPACE}, got '${raw}'`, {
      field,
      value: raw,
    });
  }
  const slash = target.relative.lastIndexOf("/");
  const parent = slash < 0 ? "" : target.relative.slice(0, slash);
  const rootFd = paths.openRoot();
  try {
    const dirFd = openDirectoryBelow(rootFd, parent, options);
    return { dirFd, name: target.relative.slice(slash + 1), guest: target.guest };
  } catch (error) {
    if (error instanceof UnsafePathError) {
      throw unsafePathError(error, field, target.guest, `${GUEST_WORKSPACE}/`);
    }
    throw error;
  } finally {
    closeSync(rootFd);
  }
}

/** lstat of `name` in `dirFd` (bigint: nanosecond mtimes), or null when there is none. */
export function lstatEntry(dirFd: number, name: string): BigIntStats | null {
  try {
    return lstatSync(fdPath(dirFd, name), { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw error;
  }
}

/** What a path names when it is not a regular file, for messages. */
export function describeKind(stats: BigIntStats): string {
  if (stats.isSymbolicLink()) return "a symlink (symlinks are never followed)";
  if (stats.isDirectory()) return "a directory";
  return "not a regular file";
}

/**
 * Reads up to `maxBytes` of the regular file `name` in `dirFd` (never through a symlink).
 * Throws not_found when there is no file, invalid_argument when it is something else.
 */
export function readRegularFile(
  opened: OpenedParent,
  field: string,
  maxBytes: number,
): { content: Buffer; size: number; stats: BigIntStats } {
  const stats = lstatEntry(opened.dirFd, opened.name);
  if (!stats) {
    throw new NotFoundError(`${field} does not exist: '${opened.guest}'`, {
      field,
      value: opened.guest,
    });
  }
  if (!stats.isFile()) {
    throw new ValidationError(
      `${field} must be a regular file: '${opened.guest}' is ${describeKind(stats)}`,
      { field, value: opened.guest },
    );
  }
  const fd = openFileAt(opened.dirFd, opened.name, stats);
  if (fd === null) {
    throw new ValidationError(`${field} changed while it was being opened: '${opened.guest}'`, {
      field,
      value: opened.guest,
    });
  }
  try {
    const size = Number(fstatSync(fd).size);
    const want = Math.min(size, maxBytes);
    const content = Buffer.alloc(want);
    let filled = 0;
    while (filled < want) {
      const got = readSync(fd, content, filled, want - filled, filled);
      if (got === 0) break; // shrank meanwhile
      filled += got;
    }
    return { content: content.subarray(0, filled), size, stats };
  } finally {
    closeSync(fd);
  }
}

const TEMP_PREFIX = ".pyro-tmp-";

/**
 * Writes `content` to a fresh temp file (mode `mode`, fsynced) in `dirFd` and returns its
 * name; `commitStaged` renames it over the target. The temp is created with O_EXCL and
 * O_NOFOLLOW, so nothing already there (a symlink planted by the sandbox) is written.
 */
export function stageFile(dirFd: number, content: Buffer, mode: number): string {
  const temp = `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString("hex")}`;
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  const fd = openSync(fdPath(dirFd, temp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    let written = 0;
    while (written < content.length) {
      written += writeSync(fd, content, written, content.length - written);
    }
    // Explicit, so the umask (of the host backend's agent) does not change it.
    fchmodSync(fd, mode);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    removeStaged(dirFd, temp);
    throw error;
  }
  closeSync(fd);
  return temp;
}

/** Renames a staged temp over `name` (atomic: the old file or the new one, never a mix). */
export function commitStaged(dirFd: number, temp: string, name: string): void {
  renameSync(fdPath(dirFd, temp), fdPath(dirFd, name));
}

export function removeStaged(dirFd: number, temp: string): void {
  try {
    unlinkSync(fdPath(dirFd, temp));
  } catch {
    // already gone
  }
}

/** Makes renames in the directory durable (best effort: some filesystems refuse it). */
export function syncDirectory(dirFd: number): void {
  try {
    fsyncSync(dirFd);
  } catch {
    // not fatal: the rename itself happened
  }
}
