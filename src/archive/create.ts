/**
 * Writing uncompressed, portable tar archives of trusted local trees. Symlinks are stored
 * as symlinks (never followed), empty directories are kept, and special files (sockets,
 * fifos, devices) are left out because extraction refuses them.
 */

import { existsSync, type Stats } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { c as createTar, type ReadEntry } from "tar";

import { PyroError, ValidationError, errorFromWire } from "../errors.js";
import { gnuTar, packWithGnuTar } from "./gnu-tar.js";

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
  const tar = gnuTar();
  if (tar) await packWithGnuTar(tar, dir, file, "dot-prefixed");
  else await writeArchive({ cwd: dir, entries: ["."], file }, { worker: true });
}

/** How to write an archive: on this thread (async fs) or on a worker thread (sync fs). */
interface WriteArchiveMode {
  /**
   * Pack on a worker thread with node-tar's synchronous writer: about 3x faster for trees
   * of many small files, and the calling thread's event loop stays free (the agent keeps
   * answering shell reads during a snapshot). Costs a thread start (~30 ms), so it is for
   * directories, not single files. Falls back to this thread when the worker script is
   * not next to this module (tests running from TypeScript sources).
   */
  worker?: boolean;
}

/** The worker script, built next to this module (tsc) or next to the agent bundle (esbuild). */
const WORKER_URL = new URL("./pack-worker.mjs", import.meta.url);

/**
 * createArchive, returning the number of members written (the root `./` entry, if any,
 * not counted).
 */
export async function writeArchive(
  options: CreateArchiveOptions,
  mode: WriteArchiveMode = {},
): Promise<number> {
  if (options.entries.length === 0) {
    throw new ValidationError("cannot create an archive without entries", { cwd: options.cwd });
  }
  if (mode.worker && existsSync(WORKER_URL)) return packInWorker(options);
  let count = 0;
  await createTar(
    tarOptions(options, () => (count += 1)),
    options.entries,
  );
  return count;
}

/** The same archive as writeArchive, written synchronously (the worker thread's half). */
export function writeArchiveSync(options: CreateArchiveOptions): number {
  let count = 0;
  createTar({ ...tarOptions(options, () => (count += 1)), sync: true }, options.entries);
  return count;
}

function tarOptions(options: CreateArchiveOptions, counted: () => void) {
  return {
    cwd: options.cwd,
    file: options.file,
    portable: true,
    gzip: false as const,
    follow: false,
    linkCache: new NoHardLinks(),
    filter: (_path: string, stat: Stats | ReadEntry) =>
      !("isFile" in stat) || stat.isFile() || stat.isDirectory() || stat.isSymbolicLink(),
    onWriteEntry: (entry: { path: string }) => {
      const name = entry.path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
      if (name !== "" && name !== ".") counted();
    },
  };
}

function packInWorker(options: CreateArchiveOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: options });
    let settled = false;
    worker.once(
      "message",
      (message: { ok: true; count: number } | { ok: false; error: unknown }) => {
        settled = true;
        if (message.ok) resolve(message.count);
        else reject(errorFromWire(message.error));
      },
    );
    worker.once("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled)
        reject(new PyroError("internal", `the archive worker exited with code ${code}`));
    });
  });
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
