/**
 * Opening paths below a directory without ever following a symlink: an openat(2)-style
 * walk for Node, which has no openat. Every directory on the way is opened with
 * O_DIRECTORY|O_NOFOLLOW relative to the previous one's descriptor, through
 * `/proc/self/fd/<fd>/<name>`: the kernel resolves `/proc/self/fd/<fd>` to the opened
 * directory itself (not to its name), so renaming or swapping a directory for a symlink
 * while we work cannot redirect us, and O_NOFOLLOW refuses a symlink as the last step.
 * Files are opened with O_NOFOLLOW|O_NONBLOCK (a FIFO swapped in must not block us) and
 * checked with fstat to be the very inode lstat saw.
 *
 * Used wherever the agent touches a path under /workspace on someone's behalf: the tree
 * there belongs to whatever runs in the sandbox, which on the host backend is a host
 * process that can plant symlinks or swap directories for them at any moment.
 *
 * Bundled into the guest agent, which runs on Node 18: only Node 18 APIs here. Needs
 * /proc (the guest's init mounts it).
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
} from "node:fs";
import type { BigIntStats, Stats } from "node:fs";

import { NotFoundError, ValidationError, type PyroError } from "./errors.js";

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Flags for a directory: never a symlink to one. */
const DIRECTORY_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
/** Flags for a regular file: never a symlink, never block on a FIFO swapped in. */
const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/**
 * A path naming the open directory `fd` (or `name` directly inside it). Valid in this
 * process (worker threads included) and, as a spawn `cwd`, in a child: the child changes
 * into it before exec, while it still holds our descriptors.
 */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/**
 * The same, for a path handed to another process (GNU tar's `-C`, find's cwd): resolved
 * through our pid, so it names our descriptor whoever opens it (same user or root).
 */
export function sharedFdPath(fd: number): string {
  return `/proc/${process.pid}/fd/${fd}`;
}

/** Why a walk stopped: which component (relative to the start) was not a real directory. */
export class UnsafePathError extends Error {
  constructor(
    readonly reason: "symlink" | "not_directory" | "missing",
    /** The offending path, relative to the directory the walk started from. */
    readonly component: string,
  ) {
    super(`${component}: ${reason}`);
    this.name = "UnsafePathError";
  }
}

/**
 * The error a client sees for a refused walk: names the field, the rule and the
 * component (`prefix` + component, e.g. `/workspace/` + `dir`).
 */
export function unsafePathError(
  error: UnsafePathError,
  field: string,
  value: string,
  prefix = "",
): PyroError {
  const component = `${prefix}${error.component}`.replace(/(.)\/$/, "$1");
  const where = `'${component}'`;
  const details = { field, value, component };
  switch (error.reason) {
    case "symlink":
      return new ValidationError(
        `${field} must not pass through a symlink: ${where} is a symlink (${field} '${value}')`,
        details,
        { cause: error },
      );
    case "not_directory":
      return new ValidationError(
        `${field} must only pass through directories: ${where} is not a directory (${field} '${value}')`,
        details,
        { cause: error },
      );
    case "missing":
      return new NotFoundError(`${field} does not exist: ${where} (${field} '${value}')`, details, {
        cause: error,
      });
  }
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** Opens a directory by path; a symlink as its last component is refused (ENOTDIR/ELOOP). */
export function openDirectory(path: string): number {
  return openSync(path, DIRECTORY_FLAGS);
}

/** Opens directory `name` inside `dirFd`, never following a symlink. Throws the errno error. */
export function openDirectoryAt(dirFd: number, name: string): number {
  return openSync(fdPath(dirFd, name), DIRECTORY_FLAGS);
}

export function lstatAt(dirFd: number, name: string): Stats {
  return lstatSync(fdPath(dirFd, name));
}

/** The target of symlink `name` inside `dirFd`; null when it is no longer a symlink (or gone). */
export function readlinkAt(dirFd: number, name: string): string | null {
  try {
    return readlinkSync(fdPath(dirFd, name), "utf8");
  } catch (error) {
    const code = errnoOf(error);
    if (code === "EINVAL" || code === "ENOENT" || code === "ENOTDIR") return null;
    throw error;
  }
}

function sameInode(a: Stats | BigIntStats, b: Stats | BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * Opens regular file `name` inside `dirFd` without following a symlink, and only if it is
 * still the file `expected` (from an earlier lstat) describes: null when it was swapped
 * for anything else (a symlink, a directory, a FIFO, another file) or vanished.
 */
export function openFileAt(
  dirFd: number,
  name: string,
  expected: Stats | BigIntStats,
): number | null {
  let fd: number;
  try {
    fd = openSync(fdPath(dirFd, name), FILE_FLAGS);
  } catch (error) {
    const code = errnoOf(error);
    // ELOOP: now a symlink; ENXIO: now a socket; ENOENT/ENOTDIR: gone.
    if (code === "ELOOP" || code === "ENXIO" || code === "ENOENT" || code === "ENOTDIR") {
      return null;
    }
    throw error;
  }
  const actual = fstatSync(fd, { bigint: typeof expected.ino === "bigint" });
  if (!actual.isFile() || !sameInode(actual, expected)) {
    closeSync(fd);
    return null;
  }
  return fd;
}

/**
 * Opens the directory `relative` (POSIX, normalised: no empty, `.` or `..` components;
 * "" is `dirFd` itself, duplicated) below `dirFd`, one component at a time, never
 * following a symlink. With `create`, missing directories are made on the way (mkdir
 * never follows a symlink either: an existing one fails with EEXIST and is then refused).
 * Throws UnsafePathError for a symlink, a non-directory or (without `create`) a missing
 * component; other errors as they come.
 */
export function openDirectoryBelow(
  dirFd: number,
  relative: string,
  options: { create?: boolean } = {},
): number {
  // `<fd>/.`: /proc/self/fd/<fd> is itself a (magic) symlink, which O_NOFOLLOW refuses.
  let current = openSync(fdPath(dirFd, "."), DIRECTORY_FLAGS);
  if (relative === "") return current;
  const parts = relative.split("/");
  try {
    for (let index = 0; index < parts.length; index++) {
      const name = parts[index] as string;
      const component = parts.slice(0, index + 1).join("/");
      const next = openComponent(current, name, component, options.create === true);
      closeSync(current);
      current = next;
    }
    return current;
  } catch (error) {
    closeSync(current);
    throw error;
  }
}

function openComponent(dirFd: number, name: string, component: string, create: boolean): number {
  for (let attempt = 0; ; attempt++) {
    try {
      return openDirectoryAt(dirFd, name);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT") {
        if (!create) throw new UnsafePathError("missing", component);
        try {
          mkdirSync(fdPath(dirFd, name), 0o777);
        } catch (mkdirError) {
          // Someone made it meanwhile: look again (a symlink is refused just below).
          if (errnoOf(mkdirError) !== "EEXIST" || attempt > 2) throw mkdirError;
        }
        continue;
      }
      if (code === "ENOTDIR" || code === "ELOOP") {
        throw new UnsafePathError(classify(dirFd, name), component);
      }
      throw error;
    }
  }
}

/** O_DIRECTORY|O_NOFOLLOW says ENOTDIR for both a symlink and a file: tell them apart. */
function classify(dirFd: number, name: string): "symlink" | "not_directory" {
  try {
    return lstatAt(dirFd, name).isSymbolicLink() ? "symlink" : "not_directory";
  } catch {
    return "not_directory";
  }
}

/** Runs `use` with `fd`, closing it afterwards whatever happens. */
export async function withFd<T>(fd: number, use: (fd: number) => Promise<T> | T): Promise<T> {
  try {
    return await use(fd);
  } finally {
    closeSync(fd);
  }
}
