/**
 * Validation of untrusted tar archives (.tar, .tar.gz, .tgz) before anything is written.
 *
 * Every member is read with node-tar's Parser and refused when it could write outside the
 * destination: absolute or `..` paths, writes through a symlink (one earlier in the archive
 * or one already on disk under the destination), hard links to anything but a regular file
 * earlier in the archive, and special files (devices, fifos, unknown types). Symlink
 * targets themselves may point anywhere: only writing through them is refused.
 *
 * Header kinds GNU tar and node-tar read differently are refused (header-rules.ts), and
 * with `canonical` the accepted members are re-written for GNU tar (canonical.ts).
 *
 * Decompression is done here (not by node-tar) so the number of bytes we feed the parser is
 * under our control, and feeding stops at the tar end-of-archive marker: node-tar buffers
 * everything that follows the marker in memory, which a gzip bomb appended after it would
 * turn into an out-of-memory. `extract.ts` feeds the parser exactly the same byte stream.
 */

import { lstat } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import { Parser, type ReadEntry } from "tar";

import { UnsafeArchiveError, ValidationError } from "../errors.js";
import { CanonicalWriter, type CanonicalMember } from "./canonical.js";
import {
  driveParser,
  isGzipFile,
  isTarError,
  PARSER_OPTIONS,
  toArchiveError,
  type ParserRun,
} from "./feed.js";
import { MemberTracker } from "./members.js";
import { errnoCode, quote } from "./quote.js";

export interface ArchiveSummary {
  /** Members in the archive (files, directories, links, including a root `./` entry). */
  entryCount: number;
  /** Sum of the sizes of the regular files. */
  totalBytes: number;
  /** Whether the file is gzip-compressed (detected from its magic bytes, not its name). */
  gzip: boolean;
}

export interface ValidateArchiveOptions {
  /**
   * When given, existing symlinks under this directory are also refused as write paths
   * (below a member, or at a directory member's own path).
   */
  destination?: string;
  /** Maximum number of members (default 200_000). */
  maxEntries?: number;
  /** Maximum sum of regular file sizes in bytes (default 8 GiB). */
  maxTotalBytes?: number;
}

export const DEFAULT_MAX_ENTRIES = 200_000;
export const DEFAULT_MAX_TOTAL_BYTES = 8 * 1024 * 1024 * 1024;
/** A symlink that extraction must create itself (node-tar rewrites absolute/`..` targets). */
interface ArchiveSymlink {
  /** Normalised member path, relative to the destination. */
  name: string;
  target: string;
}

export interface ArchiveInspection {
  summary: ArchiveSummary;
  /** Symlinks that are the last member written at their path, in archive order. */
  symlinks: ArchiveSymlink[];
  /**
   * A path appears more than once (other than a directory listed twice). Extraction must
   * then make the last member win, which only our own extractor guarantees.
   */
  replacesMembers: boolean;
  /** What checkDestination verifies against a destination, for an extractor elsewhere. */
  destinationChecks: DestinationChecks;
}

/**
 * [path, member] pairs: `prefixes` are the parent directories members are written below
 * (an existing symlink there must not be traversed), `directories` the directory members
 * (which must not land on an existing symlink).
 */
export interface DestinationChecks {
  prefixes: Array<[string, string]>;
  directories: Array<[string, string]>;
}

/** Reads, checks and summarises every member. Throws UnsafeArchiveError on a bad member. */
export async function validateArchive(
  file: string,
  options: ValidateArchiveOptions = {},
): Promise<ArchiveSummary> {
  return (await inspectArchive(file, options)).summary;
}

interface InspectArchiveOptions extends ValidateArchiveOptions {
  /**
   * Receives the canonical archive of the accepted members (see canonical.ts), ended
   * after the last check passed; on a refusal it is left unended for the caller to discard.
   */
  canonical?: Writable;
  /** Keep the archive's root member (`./`) in the canonical archive (see canonical.ts). */
  keepRoot?: boolean;
}

/** validateArchive plus what extraction needs to know about the members. */
export async function inspectArchive(
  file: string,
  options: InspectArchiveOptions = {},
): Promise<ArchiveInspection> {
  const members = new MemberTracker(
    limitOption("maxEntries", options.maxEntries, DEFAULT_MAX_ENTRIES),
    limitOption("maxTotalBytes", options.maxTotalBytes, DEFAULT_MAX_TOTAL_BYTES),
  );
  const gzip = await isGzipFile(file);
  const writer = options.canonical
    ? new CanonicalWriter(options.canonical, options.keepRoot === true)
    : undefined;

  const parser = new Parser({ ...PARSER_OPTIONS });
  const run = driveParser(file, gzip, parser, options.canonical);
  // A failing output (ENOSPC, ...) would otherwise leave the parser waiting for a drain.
  options.canonical?.once("error", (error) => run.fail(error));
  checkEachMember(parser, run, members, writer);
  await parsed(file, run, members);

  const destinationChecks: DestinationChecks = {
    prefixes: [...members.prefixUsers],
    directories: [...members.directoryUsers],
  };
  if (options.destination !== undefined) {
    await checkDestination(options.destination, destinationChecks);
  }
  writer?.finish();

  return {
    summary: { entryCount: members.entryCount, totalBytes: members.totalBytes, gzip },
    symlinks: [...members.symlinks].map(([name, target]) => ({ name, target })),
    replacesMembers: members.replacesMembers,
    destinationChecks,
  };
}

/**
 * The checks of an archive's members against what already exists in `destination` (a
 * guest agent runs them for an archive the host validated; see DestinationChecks).
 */
export async function checkDestination(
  destination: string,
  checks: DestinationChecks,
): Promise<void> {
  await checkDestinationPrefixes(destination, new Map(checks.prefixes));
  await checkDestinationDirectories(destination, new Map(checks.directories));
}

/** Runs every member through the tracker, then on to the canonical writer (if any). */
function checkEachMember(
  parser: Parser,
  run: ParserRun,
  members: MemberTracker,
  writer: CanonicalWriter | undefined,
): void {
  parser.on("entry", (entry: ReadEntry) => {
    if (run.failed()) {
      entry.resume();
      return;
    }
    let member: CanonicalMember;
    try {
      member = members.add(entry);
    } catch (error) {
      entry.resume();
      run.fail(error);
      return;
    }
    if (writer) writer.add(member, entry);
    else entry.resume();
  });
  parser.on("ignoredEntry", (entry: ReadEntry) => {
    // Unknown type flags, sparse files, tape headers, oversized meta headers, ...
    run.fail(
      new UnsafeArchiveError(
        `unsupported archive member type ${quote(entry.type)} for ${quote(entry.path)}`,
        { member: entry.path, type: entry.type },
      ),
    );
  });
}

/** Waits for the parser to finish; any failure becomes a PyroError. */
async function parsed(file: string, run: ParserRun, members: MemberTracker): Promise<void> {
  try {
    await run.done;
  } catch (error) {
    // node-tar calls an archive holding nothing but the end marker "unrecognized"; it is a
    // valid, empty tar (GNU tar writes it for an empty file list).
    if (!(members.entryCount === 0 && run.sawEof() && isTarError(error, "TAR_BAD_ARCHIVE"))) {
      throw toArchiveError(file, error);
    }
  }
}

/** After parsing: no member may be written below an existing symlink in the destination. */
async function checkDestinationPrefixes(
  destination: string,
  prefixUsers: Map<string, string>,
): Promise<void> {
  const root = path.resolve(destination);
  const missing = new Set<string>();
  for (const [prefix, member] of prefixUsers) {
    const parent = path.posix.dirname(prefix);
    if (parent !== "." && missing.has(parent)) {
      missing.add(prefix);
      continue;
    }
    let isSymlink: boolean;
    try {
      isSymlink = (await lstat(path.join(root, prefix))).isSymbolicLink();
    } catch (error) {
      if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") {
        missing.add(prefix);
        continue;
      }
      throw error;
    }
    if (isSymlink) {
      throw new UnsafeArchiveError(
        `archive member ${quote(member)} would traverse through a symlinked path ${quote(prefix)} that exists in the destination`,
        { member, symlink: prefix, destination: root },
      );
    }
  }
}

/** A directory member may not land where the destination has a symlink. */
async function checkDestinationDirectories(
  destination: string,
  directoryUsers: Map<string, string>,
): Promise<void> {
  const root = path.resolve(destination);
  for (const [name, member] of directoryUsers) {
    const stats = await lstat(path.join(root, name)).catch((error: unknown) => {
      if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") return null;
      throw error;
    });
    if (stats?.isSymbolicLink()) {
      throw new UnsafeArchiveError(
        `archive member ${quote(member)} is a directory where the destination has a symlink ${quote(name)}; remove the symlink first`,
        { member, symlink: name, destination: root },
      );
    }
  }
}

function limitOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${name} must be a non-negative integer: ${String(value)}`, {
      [name]: value,
    });
  }
  return value;
}
