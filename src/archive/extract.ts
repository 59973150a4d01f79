/**
 * Extraction of an untrusted archive into a directory, with "sync push" (overlay)
 * semantics: members replace what is at their path, everything else in the destination is
 * kept. The archive is fully validated first (see validate.ts); node-tar's own protections
 * (`preservePaths: false`, `strict: true`) stay on as a second line of defence. GNU tar
 * extracts the canonical re-write the validating pass produced (canonical.ts), never the
 * original; both paths clear setuid/setgid bits.
 *
 * Symlink members are created here rather than by node-tar: without `preservePaths`
 * node-tar rewrites absolute symlink targets (`/etc` becomes `etc`), and with `strict` it
 * refuses targets containing `..` or passing through an existing symlink (on most distros
 * `/bin` is one, so `sh -> /bin/sh` fails). Targets may point anywhere; validation already
 * guarantees nothing in the archive is written through a symlink, so creating them after
 * the rest (each one is the last member at its path) gives the same tree.
 */

import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { lstat, mkdir, rm, rmdir, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import { PassThrough, type Readable, type Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { x as extractTar, type ReadEntry } from "tar";
import type { Stats } from "node:fs";

import { PyroError, systemError } from "../errors.js";
import { safeMode } from "./canonical.js";
import { extractWithGnuTar, gnuTar } from "./gnu-tar.js";
import { PARSER_OPTIONS, driveParser, isGzipFile, toArchiveError } from "./feed.js";
import { normalizeMemberPath } from "./members.js";
import { errnoCode, quote } from "./quote.js";
import {
  type ArchiveInspection,
  type ArchiveSummary,
  type ValidateArchiveOptions,
  inspectArchive,
} from "./validate.js";

export interface ExtractArchiveOptions extends Omit<ValidateArchiveOptions, "destination"> {
  /** Where the canonical copy GNU tar extracts is written (default: beside `file`). */
  scratchDir?: string;
  /**
   * Apply the archive's root member (`./`: mode and mtime) to `destination` itself. Off by
   * default: a push or a seed never changes the metadata of the directory it lands in,
   * only a restore (reset, export) reproduces the archived directory's own.
   */
  restoreRoot?: boolean;
}

/**
 * validateArchive(file, {destination}) then extracts into destination (created if missing).
 * Setuid and setgid bits are cleared (and sticky bits on anything but directories).
 */
export async function extractArchive(
  file: string,
  destination: string,
  options: ExtractArchiveOptions = {},
): Promise<ArchiveSummary> {
  const root = path.resolve(destination);
  const { scratchDir, restoreRoot = false, ...limits } = options;
  const tar = gnuTar();
  if (tar) {
    // GNU tar reads only the canonical copy written by the validating pass: one parser
    // (node-tar's) decides every name for validation and extraction alike.
    const canonical = path.join(
      scratchDir ?? path.dirname(path.resolve(file)),
      `.pyro-canonical-${randomBytes(6).toString("hex")}.tar`,
    );
    const out = createWriteStream(canonical, { flags: "wx", mode: 0o600 });
    try {
      const written = finished(out);
      written.catch(() => undefined);
      const inspection = await inspectArchive(file, {
        ...limits,
        destination: root,
        canonical: out,
        keepRoot: restoreRoot,
      });
      await written;
      await mkdir(root, { recursive: true });
      if (inspection.summary.entryCount === 0) return inspection.summary;
      // GNU tar defers some symlinks to the end, so with repeated paths it could let an
      // earlier symlink win over a later file: those (rare) archives take node-tar below.
      if (!inspection.replacesMembers) {
        await extractWithGnuTar(tar, canonical, root, false);
        return inspection.summary;
      }
      return await extractWithNodeTar(file, root, inspection, restoreRoot);
    } finally {
      out.destroy();
      await rm(canonical, { force: true });
    }
  }
  const inspection = await inspectArchive(file, { ...limits, destination: root });
  await mkdir(root, { recursive: true });
  if (inspection.summary.entryCount === 0) return inspection.summary;
  return extractWithNodeTar(file, root, inspection, restoreRoot);
}

async function extractWithNodeTar(
  file: string,
  root: string,
  { summary, symlinks }: ArchiveInspection,
  restoreRoot: boolean,
): Promise<ArchiveSummary> {
  // node-tar's synchronous unpacker does each member's filesystem work inline: about 3x
  // faster than its async one for many small files. The feed still yields to the event loop
  // between 64 KiB chunks, so an agent extracting a large archive keeps answering others.
  const unpack = extractTar({
    ...PARSER_OPTIONS,
    sync: true,
    cwd: root,
    preserveOwner: false,
    noChmod: false,
    preservePaths: false,
    unlink: true,
    filter: (_path: string, entry: Stats | ReadEntry) => {
      if (!("type" in entry)) return true;
      // The root member is the destination itself (see ExtractArchiveOptions.restoreRoot).
      if (!restoreRoot && normalizeMemberPath(entry.path) === ".") return false;
      entry.mode = safeMode(entry.mode, entry.type);
      return entry.type !== "SymbolicLink";
    },
  });
  try {
    await driveParser(file, summary.gzip, unpack).done;
  } catch (error) {
    throw toExtractError(file, error);
  }

  for (const link of symlinks) {
    const target = path.join(root, link.name);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await removeExisting(target);
      await symlink(link.target, target);
    } catch (error) {
      throw new PyroError(
        "internal",
        `cannot create symlink ${quote(link.name)} -> ${quote(link.target)}: ${error instanceof Error ? error.message : String(error)}`,
        { member: link.name },
        { cause: error },
      );
    }
  }
  return summary;
}

/**
 * Extracts an archive whose members were already validated by a party the caller trusts
 * (the host, for a guest agent restoring into a fresh /workspace, which sends the
 * canonical re-write: canonicalArchive), skipping the member by member pass: under software emulation that pass costs about 4.5 s per 10,000 members.
 * Without GNU tar it falls back to the validating extractor.
 */
export async function extractPrevalidatedArchive(
  file: string,
  destination: string,
  options: { restoreRoot?: boolean } = {},
): Promise<void> {
  const root = path.resolve(destination);
  const tar = gnuTar();
  if (!tar) {
    await extractArchive(file, root, options);
    return;
  }
  await mkdir(root, { recursive: true });
  await extractWithGnuTar(tar, file, root, await isGzipFile(file));
}

/** What the canonical re-write of an upload is checked against besides safety. */
type CanonicalOptions = { keepRoot?: boolean } & Pick<
  ValidateArchiveOptions,
  "maxEntries" | "maxTotalBytes"
>;

/**
 * The canonical copy of an archive (see canonical.ts) as a stream, validated as it goes
 * (within the given limits): what the host sends to a guest agent that trusts the host's
 * validation, so the guest's GNU tar reads the names the host checked and nothing else. A
 * refusal destroys the stream; `summary` rejects with the refusal itself. The root member
 * is kept only with `keepRoot` (a restore).
 */
export function canonicalArchive(
  file: string,
  options: CanonicalOptions = {},
): { stream: Readable; summary: Promise<ArchiveSummary> } {
  const stream = new PassThrough();
  const summary = inspectArchive(file, { ...options, canonical: stream }).then(
    (inspection) => inspection.summary,
    (error: unknown) => {
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    },
  );
  summary.catch(() => undefined); // the caller awaits it once the upload is over
  return { stream, summary };
}

/**
 * Writes the canonical copy of an archive (see canonicalArchive) to `out` and returns
 * what the host validated: the transfer disk path sends the copy and, for a destination that
 * is not empty, the checks the guest must still make against what is on its disk.
 */
export function writeCanonicalArchive(
  file: string,
  out: Writable,
  options: CanonicalOptions = {},
): Promise<ArchiveInspection> {
  return inspectArchive(file, { ...options, canonical: out });
}

/**
 * Parse failures keep validateArchive's "not a valid tar archive" wording; failures to
 * write a member (ENOSPC, EACCES, a non-empty directory where a file goes, ...) are named
 * as such, with the member.
 */
function toExtractError(file: string, error: unknown): PyroError {
  if (error instanceof PyroError) return error;
  const record = (typeof error === "object" && error !== null ? error : {}) as {
    tarCode?: unknown;
    syscall?: unknown;
    entry?: { path?: unknown };
  };
  const entryFailure =
    record.tarCode === "TAR_ENTRY_ERROR" ||
    record.tarCode === "TAR_ENTRY_UNSUPPORTED" ||
    record.tarCode === "TAR_ENTRY_INFO" ||
    typeof record.syscall === "string";
  if (!entryFailure) return toArchiveError(file, error);
  const member =
    typeof record.entry?.path === "string" ? ` member ${quote(record.entry.path)}` : "";
  const message = error instanceof Error ? error.message : String(error);
  // A full disk is the host's state, not a pyro bug: `no_space`, like everywhere else.
  const full = error instanceof Error && systemError(error)?.code === "no_space";
  return new PyroError(
    full ? "no_space" : "internal",
    `failed to extract archive ${quote(file)}${member}: ${message}`,
    {
      file,
      ...(member ? { member: record.entry?.path } : {}),
    },
    { cause: error },
  );
}

/** Same as node-tar's `unlink: true`: a file or link is replaced, an empty directory too. */
async function removeExisting(target: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(target);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw error;
  }
  if (stats.isDirectory()) await rmdir(target);
  else await unlink(target);
}
