import fs from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";

import { ValidationError } from "../errors.js";
import { safeParse } from "../shared/fast-check.js";
import { CommandLogEntrySchema, type CommandLogEntry } from "../store/records.js";
import { QUOTAS, quotaValue } from "./quotas.js";

/**
 * The command log is JSON Lines, appended under the workspace lock, and bounded twice:
 *
 * - per entry, stdout, stderr and the command are kept up to MAX_LOGGED_TEXT_BYTES each
 *   (the head, cut on a character boundary) with `*_truncated` set; the exec result itself
 *   still carries the full output;
 * - in total, the log is `commands.jsonl` plus one rotated `commands.jsonl.1`, each at most
 *   half of the command log quota: when the current file is full it becomes `.1` and the
 *   previous `.1` (the oldest entries) is dropped. Entries keep their sequence numbers, so
 *   the dropped ones show as a gap before the first one kept.
 *
 * Each entry is one write() on an O_APPEND descriptor. A crash can still tear that write;
 * the next append then ends the torn line first, so the torn bytes become one unreadable
 * line of their own instead of swallowing the entry after them. Readers skip and count
 * unreadable lines.
 */
export const MAX_LOGGED_TEXT_BYTES = 64 * 1024;

/** The rotated file: the entries before those in `file`. */
function rotatedLog(file: string): string {
  return `${file}.1`;
}

/** The head of `text` in at most `maxBytes` UTF-8 bytes, never splitting a character. */
function truncateUtf8(text: string, maxBytes: number): { text: string; truncated: boolean } {
  // Each UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no encoding.
  if (text.length * 3 <= maxBytes) return { text, truncated: false };
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return { text, truncated: false };
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return { text: bytes.subarray(0, end).toString("utf8"), truncated: true };
}

/** An entry as the log keeps it: long texts cut to MAX_LOGGED_TEXT_BYTES with a note. */
function boundedEntry(entry: CommandLogEntry): CommandLogEntry {
  const command = truncateUtf8(entry.command, MAX_LOGGED_TEXT_BYTES);
  const stdout = truncateUtf8(entry.stdout, MAX_LOGGED_TEXT_BYTES);
  const stderr = truncateUtf8(entry.stderr, MAX_LOGGED_TEXT_BYTES);
  const bounded: CommandLogEntry = {
    ...entry,
    command: command.text,
    stdout: stdout.text,
    stderr: stderr.text,
    stdout_truncated: stdout.truncated || entry.stdout_truncated === true,
    stderr_truncated: stderr.truncated || entry.stderr_truncated === true,
  };
  if (command.truncated) bounded.command_truncated = true;
  return bounded;
}

/** Appends one entry (see above). Call it under the workspace lock. */
export async function appendCommand(file: string, entry: CommandLogEntry): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const line = Buffer.from(`${JSON.stringify(boundedEntry(entry))}\n`, "utf8");
  const perFile = Math.max(1, Math.floor(quotaValue(QUOTAS.commandLogBytes) / 2));
  let size = (await fs.stat(file).catch(() => null))?.size ?? 0;
  if (size > 0 && size + line.length > perFile) {
    // Full: this file becomes the rotated one, replacing (dropping) the older entries.
    await fs.rename(file, rotatedLog(file));
  }
  // a+: O_APPEND for the write, readable for the torn-tail check.
  const handle = await fs.open(file, "a+", 0o600);
  try {
    size = (await handle.stat()).size;
    let out = line;
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      // A torn tail from a crashed append: end it so it cannot merge with this entry.
      if (last[0] !== 0x0a) out = Buffer.concat([Buffer.from("\n"), line]);
    }
    let offset = 0;
    // One write for the whole entry; the loop only guards against a short write.
    while (offset < out.length) {
      const { bytesWritten } = await handle.write(out, offset, out.length - offset);
      offset += bytesWritten;
    }
  } finally {
    await handle.close();
  }
}

export async function clearCommands(file: string): Promise<void> {
  await fs.rm(file, { force: true });
  await fs.rm(rotatedLog(file), { force: true });
}

interface ReadCommandsOptions {
  /** Only entries with a greater sequence number (a cursor from a previous page). */
  afterSequence?: number;
  /** The first `limit` entries (after the cursor). */
  limit?: number;
  /** The last `tail` entries (after the cursor). */
  tail?: number;
}

interface CommandPage {
  entries: CommandLogEntry[];
  /** Entries readable in the log (after the cursor), whether returned or not. */
  available: number;
  /** Entries before the first one kept: dropped by rotation (or lost before it). */
  dropped: number;
  /** Lines that were torn or not a valid entry, skipped. */
  skippedCorrupt: number;
  /** More entries follow the last one returned. */
  hasMore: boolean;
  /** The newest sequence number in the log (0 when empty). */
  lastSequence: number;
}

/** The most entries one page may ask for (`limit` or `tail`). */
const MAX_PAGE_ENTRIES = 10_000;

function checkCount(field: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min || value > MAX_PAGE_ENTRIES) {
    throw new ValidationError(
      `${field} must be an integer between ${min} and ${MAX_PAGE_ENTRIES}, got ${String(value)}`,
      { field, value },
    );
  }
  return value;
}

/**
 * Reads a page of the log with bounded memory: both files are streamed line by line, only
 * the page (at most `limit` or `tail` entries, else every kept entry, which the quota
 * bounds) is held, and of a file larger than its share of the quota (a log written by an
 * older pyro) only the last share is read.
 */
export async function readCommands(
  file: string,
  options: ReadCommandsOptions = {},
): Promise<CommandPage> {
  const limit = checkCount("limit", options.limit, 1);
  const tail = checkCount("tail", options.tail, 0);
  if (limit !== undefined && tail !== undefined) {
    throw new ValidationError("give either limit or tail, not both", { field: "tail" });
  }
  const after = options.afterSequence;
  if (after !== undefined && (!Number.isSafeInteger(after) || after < 0)) {
    throw new ValidationError(
      `after_sequence must be a non-negative integer, got ${String(after)}`,
      { field: "after_sequence", value: after },
    );
  }
  const share = Math.max(1, Math.floor(quotaValue(QUOTAS.commandLogBytes) / 2));
  const page: CommandPage = {
    entries: [],
    available: 0,
    dropped: 0,
    skippedCorrupt: 0,
    hasMore: false,
    lastSequence: 0,
  };
  let firstSequence: number | null = null;
  let lastSequence = 0;
  // Current file first, then the rotated one: a rotation in between then makes both
  // handles the same file (entries deduplicated by sequence), never loses one.
  const current = await openIfExists(file);
  const rotated = await openIfExists(rotatedLog(file));
  try {
    for (const handle of [rotated, current]) {
      if (!handle) continue;
      for await (const line of lines(handle, share, page)) {
        let entry: CommandLogEntry;
        try {
          const parsed = safeParse(CommandLogEntrySchema, JSON.parse(line));
          if (!parsed.success) throw new Error(parsed.error.message);
          entry = parsed.data;
        } catch {
          page.skippedCorrupt += 1;
          continue;
        }
        if (entry.sequence <= lastSequence) continue; // seen through the other handle
        lastSequence = entry.sequence;
        firstSequence ??= entry.sequence;
        if (after !== undefined && entry.sequence <= after) continue;
        page.available += 1;
        if (limit !== undefined && page.entries.length >= limit) {
          page.hasMore = true;
          continue; // keep counting what is available
        }
        // Older logs kept whole outputs: bound them on the way out as well.
        page.entries.push(boundedEntry(entry));
        if (tail !== undefined && page.entries.length > tail) page.entries.shift();
      }
    }
  } finally {
    await current?.close();
    await rotated?.close();
  }
  page.dropped = firstSequence === null ? 0 : Math.max(0, firstSequence - 1);
  page.lastSequence = lastSequence;
  return page;
}

async function openIfExists(file: string): Promise<fs.FileHandle | null> {
  try {
    return await fs.open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * The complete lines of the last `share` bytes of a file. A partial first line (the read
 * started mid-line) is not an entry; a last line without its newline is a torn append and
 * counts as corrupt.
 */
async function* lines(
  handle: fs.FileHandle,
  share: number,
  page: CommandPage,
): AsyncGenerator<string> {
  const size = (await handle.stat()).size;
  if (size === 0) return;
  const start = Math.max(0, size - share);
  const byte = Buffer.alloc(1);
  let skipFirst = false;
  if (start > 0) {
    await handle.read(byte, 0, 1, start - 1);
    skipFirst = byte[0] !== 0x0a;
  }
  await handle.read(byte, 0, 1, size - 1);
  const tornTail = byte[0] !== 0x0a;
  const stream = handle.createReadStream({ start, end: size - 1, autoClose: false });
  const reader = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let pending: string | null = null;
  try {
    for await (const line of reader) {
      if (skipFirst) {
        skipFirst = false;
        continue;
      }
      if (pending !== null && pending.trim() !== "") yield pending;
      pending = line;
    }
  } finally {
    reader.close();
    stream.destroy();
  }
  if (pending === null || pending.trim() === "") return;
  if (tornTail) page.skippedCorrupt += 1;
  else yield pending;
}
