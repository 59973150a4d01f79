/**
 * Writing uncompressed, portable tar archives of trusted local trees. Symlinks are stored
 * as symlinks (never followed), empty directories are kept, and special files (sockets,
 * fifos, devices) are left out because extraction refuses them.
 */

import type { Stats } from "node:fs";
import path from "node:path";
import { c as createTar, type ReadEntry } from "tar";

import { ValidationError } from "../errors.js";

export interface CreateArchiveOptions {
  /** Directory the entries are relative to. */
  cwd: string;
  /** Paths relative to cwd; directories are archived recursively. */
  entries: string[];
  /** Output .tar file. */
  file: string;
}

export type ArchiveKind = "tar" | "tar_gz";

/**
 * A link cache that never remembers: every file is stored with its own body, never as a
 * hard link. node-tar's hard-link packing can crash ("write after end"), hang, or write a
 * link before its target (node-tar issues #448, #458, #460); a few duplicated bytes are a
 * fair price for archives that always come out whole.
 */
class NoHardLinks extends Map<`${number}:${number}`, string> {
  override get(): string | undefined {
    return undefined;
  }
  override set(): this {
    return this;
  }
}

/** Writes an uncompressed tar of `entries` (relative to `cwd`) to `file`. */
export async function createArchive(options: CreateArchiveOptions): Promise<void> {
  await writeArchive(options);
}

/**
 * Tars the whole directory: members are named `./`, `./note.txt`, `./sub/`, ... (node-tar
 * keeps the `./` prefix), which validateArchive and extractArchive normalise.
 */
export async function packDirectory(dir: string, file: string): Promise<void> {
  await createArchive({ cwd: dir, entries: ["."], file });
}

/**
 * createArchive, returning the number of members written (the root `./` entry, if any,
 * not counted).
 */
export async function writeArchive(options: CreateArchiveOptions): Promise<number> {
  if (options.entries.length === 0) {
    throw new ValidationError("cannot create an archive without entries", { cwd: options.cwd });
  }
  let count = 0;
  await createTar(
    {
      cwd: options.cwd,
      file: options.file,
      portable: true,
      gzip: false,
      follow: false,
      linkCache: new NoHardLinks(),
      filter: (_path: string, stat: Stats | ReadEntry) =>
        !("isFile" in stat) || stat.isFile() || stat.isDirectory() || stat.isSymbolicLink(),
      onWriteEntry: (entry) => {
        const name = entry.path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
        if (name !== "" && name !== ".") count += 1;
      },
    },
    options.entries,
  );
  return count;
}

/** The archive kind from the file name: `.tar`, `.tar.gz` or `.tgz` (any case). */
export function archiveKind(file: string, field = "seed_path"): ArchiveKind {
  const lower = path.basename(file).toLowerCase();
  if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "tar_gz";
  if (lower.endsWith(".tar")) return "tar";
  throw new ValidationError(
    `${field} must be a directory or a .tar, .tar.gz or .tgz archive: ${quoteName(file)}`,
    {
      [field]: file,
    },
  );
}

function quoteName(value: string): string {
  return `'${value}'`;
}
