/**
 * Feeding an archive into a node-tar Parser (or Unpack, which is a Parser). Decompression
 * is ours, so the bytes fed are under our control, and feeding stops at the tar
 * end-of-archive marker (see validate.ts for why).
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline, type Readable, type Writable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Parser } from "tar";

import { NotFoundError, PyroError, UnsafeArchiveError, ValidationError } from "../errors.js";
import { HeaderScanner } from "./header-rules.js";
import { errnoCode, errorMessage, quote } from "./quote.js";

/**
 * Options shared by the validating parser and the extracting one, so that both read the
 * same byte stream the same way: decompression is ours, and node-tar must not sniff for
 * another compression layer (we refuse a decompressed stream that starts like gzip).
 */
export const PARSER_OPTIONS = { strict: true, zstd: false, brotli: false } as const;

export interface ParserRun {
  /** Settles when the parser has closed (after every entry was handled) or failed. */
  done: Promise<void>;
  /** Stops feeding and rejects `done` with this error (first call wins). */
  fail(error: unknown): void;
  failed(): boolean;
  sawEof(): boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** What the feeding loop and the parser's events share. */
interface FeedState {
  failure: { error: unknown } | undefined;
  eof: boolean;
  /** Resolves the wait for a drain early, when the run fails or the parser saw the end. */
  wake: (() => void) | undefined;
}

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
  const state: FeedState = { failure: undefined, eof: false, wake: undefined };
  let rejectDone: (error: unknown) => void = () => undefined;

  const fail = (error: unknown): void => {
    if (state.failure) return;
    state.failure = { error };
    state.wake?.();
    rejectDone(error);
    // Stop node-tar from processing anything else it has buffered.
    parser.abort(new Error("archive processing stopped"));
  };

  const done = new Promise<void>((resolve, reject) => {
    rejectDone = reject;
    parser.on("error", (error: unknown) => fail(error));
    parser.on("eof", () => {
      state.eof = true;
      state.wake?.();
    });
    parser.on("close", () => {
      if (!state.failure) resolve();
    });
  });
  // `fail` may run before anyone awaits `done`.
  done.catch(() => undefined);

  void feed(file, gzip, parser, output, state).catch(fail);

  return { done, fail, failed: () => state.failure !== undefined, sawEof: () => state.eof };
}

/** Reads the file chunk by chunk into the parser, refusing a second gzip layer up front. */
async function feed(
  file: string,
  gzip: boolean,
  parser: Parser,
  output: Writable | undefined,
  state: FeedState,
): Promise<void> {
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const source: Readable = gzip ? pipeline(raw, createGunzip(), () => undefined) : raw;
  source.on("error", () => undefined);
  const scanner = new HeaderScanner();
  const write = (chunk: Buffer) => writeChunk(chunk, parser, scanner, output, state);
  let head: Buffer | undefined = Buffer.alloc(0);
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (state.failure || state.eof) break;
      if (head === undefined) {
        await write(chunk);
        continue;
      }
      head = Buffer.concat([head, chunk]);
      if (head.length < 2) continue;
      refuseNestedGzip(file, head);
      const first = head;
      head = undefined;
      await write(first);
    }
    if (state.failure) return;
    if (head !== undefined && head.length > 0) {
      scanner.push(head);
      parser.write(head);
    }
    parser.end();
  } finally {
    raw.destroy();
    source.destroy();
  }
}

/**
 * Writes one chunk, first waiting for `output` to drain: what the parser emits for one
 * chunk is about one chunk, so this bounds what is buffered in memory.
 */
async function writeChunk(
  chunk: Buffer,
  parser: Parser,
  scanner: HeaderScanner,
  output: Writable | undefined,
  state: FeedState,
): Promise<void> {
  if (output?.writableNeedDrain && !state.failure) {
    await new Promise<void>((resolve) => {
      state.wake = resolve;
      output.once("drain", resolve);
    });
    state.wake = undefined;
  }
  if (state.failure) return;
  scanner.push(chunk);
  if (parser.write(chunk) || state.failure || state.eof) return;
  await new Promise<void>((resolve) => {
    state.wake = resolve;
    parser.once("drain", resolve);
  });
  state.wake = undefined;
}

/**
 * A second gzip layer would be unwrapped by node-tar's own sniffing: refuse it so there is
 * only one way to read the stream.
 */
function refuseNestedGzip(file: string, head: Buffer): void {
  if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
    throw new ValidationError(
      `not a valid tar archive: ${quote(file)} (the tar stream itself starts with a gzip header)`,
      { file },
    );
  }
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
  return new ValidationError(
    `not a valid tar archive: ${quote(file)} (${message})`,
    { file },
    { cause: error },
  );
}

export function isTarError(error: unknown, code: string): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    ((error as { tarCode?: unknown }).tarCode === code ||
      (error as { code?: unknown }).code === code)
  );
}
