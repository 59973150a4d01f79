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

import { createReadStream } from "node:fs";
import { lstat, open } from "node:fs/promises";
import path from "node:path";
import { pipeline, type Readable, type Writable } from "node:stream";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";

import { NotFoundError, PyroError, UnsafeArchiveError, ValidationError } from "../errors.js";
import { CanonicalWriter, type CanonicalMember } from "./canonical.js";
import { HeaderScanner } from "./header-rules.js";

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
/** node-tar's own default `maxDepth`; deeper members would be skipped with a warning. */
const MAX_DEPTH = 1024;

const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);
const ALLOWED_TYPES = new Set([...FILE_TYPES, "Directory", "SymbolicLink", "Link"]);

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
}

/**
 * Options shared by the validating parser and the extracting one, so that both read the
 * same byte stream the same way: decompression is ours, and node-tar must not sniff for
 * another compression layer (we refuse a decompressed stream that starts like gzip).
 */
export const PARSER_OPTIONS = { strict: true, zstd: false, brotli: false } as const;

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
}

/** validateArchive plus what extraction needs to know about the members. */
export async function inspectArchive(
  file: string,
  options: InspectArchiveOptions = {},
): Promise<ArchiveInspection> {
  const maxEntries = limitOption("maxEntries", options.maxEntries, DEFAULT_MAX_ENTRIES);
  const maxTotalBytes = limitOption(
    "maxTotalBytes",
    options.maxTotalBytes,
    DEFAULT_MAX_TOTAL_BYTES,
  );
  const gzip = await isGzipFile(file);

  let entryCount = 0;
  let totalBytes = 0;
  // Latest type written at each normalised path (for hard link targets).
  const current = new Map<string, string>();
  // Every path that was a symlink at any point: nothing may be written below it.
  const everSymlink = new Set<string>();
  // Symlinks that end up being the last member at their path.
  const symlinks = new Map<string, string>();
  // Proper prefixes to check on disk, with the first member that needed them.
  const prefixUsers = new Map<string, string>();
  // Whether a later member replaces an earlier one at the same path.
  let replacesMembers = false;
  // Directory members at a path no earlier member wrote: one already on disk must not be
  // a symlink (GNU tar would treat the symlink as the directory and chmod its target).
  const directoryUsers = new Map<string, string>();
  const writer = options.canonical ? new CanonicalWriter(options.canonical) : undefined;

  const parser = new Parser({ ...PARSER_OPTIONS });
  const run = driveParser(file, gzip, parser, options.canonical);
  // A failing output (ENOSPC, ...) would otherwise leave the parser waiting for a drain.
  options.canonical?.once("error", (error) => run.fail(error));

  const checkPrefixes = (name: string, rawForMessage: string): void => {
    let index = name.indexOf("/");
    while (index !== -1) {
      const prefix = name.slice(0, index);
      if (everSymlink.has(prefix)) {
        throw new UnsafeArchiveError(
          `archive member ${quote(rawForMessage)} would traverse through a symlinked path ${quote(prefix)}`,
          { member: rawForMessage, symlink: prefix },
        );
      }
      if (!prefixUsers.has(prefix)) prefixUsers.set(prefix, rawForMessage);
      index = name.indexOf("/", index + 1);
    }
  };

  const onEntry = (entry: ReadEntry): CanonicalMember => {
    entryCount += 1;
    if (entryCount > maxEntries) {
      throw new ValidationError(
        `archive exceeds maxEntries: more than ${maxEntries} members (found ${entryCount} so far)`,
        { limit: "maxEntries", max: maxEntries, value: entryCount },
      );
    }
    const raw = entry.path;
    const type = entry.type;
    if (!ALLOWED_TYPES.has(type)) {
      throw new UnsafeArchiveError(
        `unsupported archive member type ${quote(type)} for ${quote(raw)}`,
        {
          member: raw,
          type,
        },
      );
    }
    const name = normalizeMemberPath(raw);
    if (name === ".") {
      if (type !== "Directory") {
        throw new UnsafeArchiveError(
          `unsafe archive member path: ${quote(raw)} (the archive root can only be a directory)`,
          { member: raw, type },
        );
      }
      current.set(name, type);
      return { name, type: "Directory" };
    }
    checkPrefixes(name, raw);

    let linkTarget: string | undefined;
    if (FILE_TYPES.has(type)) {
      totalBytes += entry.size;
      if (totalBytes > maxTotalBytes) {
        throw new ValidationError(
          `archive exceeds maxTotalBytes: more than ${maxTotalBytes} bytes of file data (found ${totalBytes} so far)`,
          { limit: "maxTotalBytes", max: maxTotalBytes, value: totalBytes },
        );
      }
    } else if (type === "Link") {
      linkTarget = checkHardLink(raw, entry.linkpath ?? "", current, everSymlink);
    } else if (type === "SymbolicLink") {
      const target = entry.linkpath ?? "";
      if (target === "" || target.includes("\0")) {
        throw new UnsafeArchiveError(
          `unsafe archive member path: ${quote(raw)} (symlink with an empty or NUL-containing target)`,
          { member: raw },
        );
      }
    }

    const previous = current.get(name);
    if (previous !== undefined && (previous !== "Directory" || type !== "Directory")) {
      replacesMembers = true;
    }
    if (type === "Directory" && previous === undefined && !directoryUsers.has(name)) {
      directoryUsers.set(name, raw);
    }
    // Hard links and all regular file flavours count as "File" for later hard links.
    current.set(name, type === "Link" || FILE_TYPES.has(type) ? "File" : type);
    symlinks.delete(name);
    if (type === "SymbolicLink") {
      everSymlink.add(name);
      symlinks.set(name, entry.linkpath ?? "");
    }
    if (type === "Directory" || type === "SymbolicLink")
      return { name, type, linkpath: entry.linkpath };
    if (type === "Link") return { name, type, linkpath: linkTarget };
    return { name, type: "File" };
  };

  parser.on("entry", (entry: ReadEntry) => {
    if (run.failed()) {
      entry.resume();
      return;
    }
    let member: CanonicalMember;
    try {
      member = onEntry(entry);
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

  try {
    await run.done;
  } catch (error) {
    // node-tar calls an archive holding nothing but the end marker "unrecognized"; it is a
    // valid, empty tar (GNU tar writes it for an empty file list).
    if (!(entryCount === 0 && run.sawEof() && isTarError(error, "TAR_BAD_ARCHIVE"))) {
      throw toArchiveError(file, error);
    }
  }

  if (options.destination !== undefined) {
    await checkDestinationPrefixes(options.destination, prefixUsers);
    await checkDestinationDirectories(options.destination, directoryUsers);
  }
  writer?.finish();

  return {
    summary: { entryCount, totalBytes, gzip },
    symlinks: [...symlinks].map(([name, target]) => ({ name, target })),
    replacesMembers,
  };
}

/** Checks a hard link member; returns its normalised target. */
function checkHardLink(
  raw: string,
  linkpath: string,
  current: Map<string, string>,
  everSymlink: Set<string>,
): string {
  const refuse = (reason: string): never => {
    throw new UnsafeArchiveError(
      `unsafe archive member path: hard link ${quote(raw)} -> ${quote(linkpath)} ${reason}`,
      { member: raw, linkpath },
    );
  };
  let target: string;
  try {
    target = normalizeMemberPath(linkpath);
  } catch {
    return refuse("has an unsafe target");
  }
  let index = target.indexOf("/");
  while (index !== -1) {
    if (everSymlink.has(target.slice(0, index))) refuse("points through a symlinked path");
    index = target.indexOf("/", index + 1);
  }
  if (current.get(target) !== "File") {
    refuse("must point at a regular file earlier in the archive");
  }
  return target;
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

/**
 * Checks a raw member name and returns it normalised (no leading `./`, no trailing `/`,
 * no empty or `.` segments); the archive root is `.`. Throws UnsafeArchiveError.
 */
export function normalizeMemberPath(raw: string): string {
  const refuse = (reason: string): never => {
    throw new UnsafeArchiveError(`unsafe archive member path: ${quote(raw)} (${reason})`, {
      member: raw,
    });
  };
  if (raw === "") refuse("empty name");
  if (raw.includes("\0")) refuse("contains a NUL byte");
  // node-tar strips Windows roots (`c:`, `\\server\`) on every platform, so refuse them too.
  if (raw.startsWith("/") || path.win32.isAbsolute(raw) || path.win32.parse(raw).root !== "") {
    refuse("absolute path");
  }
  // node-tar also treats `\` as a separator when looking for `..`.
  if (raw.split(/[\\/]/).includes("..")) refuse("contains a '..' segment");
  if (raw.split("/").length > MAX_DEPTH) refuse(`nested deeper than ${MAX_DEPTH} levels`);
  let name = path.posix.normalize(raw);
  while (name.endsWith("/")) name = name.slice(0, -1);
  return name === "" ? "." : name;
}

// ---------------------------------------------------------------------------------------
// Feeding an archive into a node-tar Parser (or Unpack, which is a Parser).

interface ParserRun {
  /** Settles when the parser has closed (after every entry was handled) or failed. */
  done: Promise<void>;
  /** Stops feeding and rejects `done` with this error (first call wins). */
  fail(error: unknown): void;
  failed(): boolean;
  sawEof(): boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Streams `file` (gunzipped when `gzip`) into `parser` with backpressure, stopping at the
 * tar end-of-archive marker. Errors from the parser, the file or zlib reject `done`.
 * With `output` (where the parser's entries are written), each chunk also waits for it to
 * drain. Every chunk also goes through the HeaderScanner (header-rules.ts).
 */
export function driveParser(
  file: string,
  gzip: boolean,
  parser: Parser,
  output?: Writable,
): ParserRun {
  let failure: { error: unknown } | undefined;
  let eof = false;
  let wake: (() => void) | undefined;
  let rejectDone: (error: unknown) => void = () => undefined;

  const fail = (error: unknown): void => {
    if (failure) return;
    failure = { error };
    wake?.();
    rejectDone(error);
    // Stop node-tar from processing anything else it has buffered.
    parser.abort(new Error("archive processing stopped"));
  };

  const done = new Promise<void>((resolve, reject) => {
    rejectDone = reject;
    parser.on("error", (error: unknown) => fail(error));
    parser.on("eof", () => {
      eof = true;
      wake?.();
    });
    parser.on("close", () => {
      if (!failure) resolve();
    });
  });
  // `fail` may run before anyone awaits `done`.
  done.catch(() => undefined);

  const feed = async (): Promise<void> => {
    const raw = createReadStream(file, { highWaterMark: 64 * 1024 });
    const source: Readable = gzip ? pipeline(raw, createGunzip(), () => undefined) : raw;
    source.on("error", () => undefined);
    let head: Buffer | undefined = Buffer.alloc(0);
    const scanner = new HeaderScanner();
    const write = async (chunk: Buffer): Promise<void> => {
      // What the parser emits for one chunk is about one chunk: waiting for the output
      // to drain first bounds what is buffered in memory.
      if (output?.writableNeedDrain && !failure) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          output.once("drain", resolve);
        });
        wake = undefined;
      }
      if (failure) return;
      scanner.push(chunk);
      if (parser.write(chunk) || failure || eof) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        parser.once("drain", resolve);
      });
      wake = undefined;
    };
    const sniff = (chunk: Buffer): void => {
      // A second gzip layer would be unwrapped by node-tar's own sniffing: refuse it so
      // there is only one way to read the stream.
      if (chunk[0] === GZIP_MAGIC[0] && chunk[1] === GZIP_MAGIC[1]) {
        throw new ValidationError(
          `not a valid tar archive: ${quote(file)} (the tar stream itself starts with a gzip header)`,
          { file },
        );
      }
    };
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (failure || eof) break;
        if (head !== undefined) {
          head = Buffer.concat([head, chunk]);
          if (head.length < 2) continue;
          sniff(head);
          const first = head;
          head = undefined;
          await write(first);
          continue;
        }
        await write(chunk);
      }
      if (failure) return;
      if (head !== undefined && head.length > 0) {
        scanner.push(head);
        parser.write(head);
      }
      parser.end();
    } catch (error) {
      fail(error);
    } finally {
      raw.destroy();
      source.destroy();
    }
  };
  void feed();

  return { done, fail, failed: () => failure !== undefined, sawEof: () => eof };
}

export async function isGzipFile(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") {
      throw new NotFoundError(`archive does not exist: ${quote(file)}`, { file });
    }
    throw new ValidationError(`cannot read archive ${quote(file)}: ${errorMessage(error)}`, {
      file,
    });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new ValidationError(`archive must be a regular file: ${quote(file)}`, { file });
    }
    const buffer = Buffer.alloc(2);
    const { bytesRead } = await handle.read(buffer, 0, 2, 0);
    return bytesRead === 2 && buffer[0] === GZIP_MAGIC[0] && buffer[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

/** Any parser, zlib or read failure becomes a PyroError; ours pass through. */
export function toArchiveError(file: string, error: unknown): PyroError {
  if (error instanceof PyroError) return error;
  const message = errorMessage(error);
  if (isTarError(error, "TAR_ENTRY_INVALID") && /path is required/.test(message)) {
    return new UnsafeArchiveError(`unsafe archive member path: '' (empty name)`, { member: "" });
  }
  if (isTarError(error, "TAR_ENTRY_INVALID") && /linkpath required/.test(message)) {
    return new UnsafeArchiveError(
      `unsafe archive member path: link member with an empty target`,
      {},
    );
  }
  return new ValidationError(`not a valid tar archive: ${quote(file)} (${message})`, { file });
}

function isTarError(error: unknown, code: string): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    ((error as { tarCode?: unknown }).tarCode === code ||
      (error as { code?: unknown }).code === code)
  );
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

export function errnoCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Quotes a name for a message, making control characters visible. */
export function quote(value: string): string {
  let visible = "";
  for (const char of value) {
    const code = char.charCodeAt(0);
    visible += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : char;
  }
  return `'${visible}'`;
}
