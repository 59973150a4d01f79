/** Service logs: size-capped files with one rotated predecessor, and reading their tail. */
import fs from "node:fs";
import { Writable } from "node:stream";

/** Bytes per log file; a stream keeps at most this file and one rotated predecessor. */
const SERVICE_LOG_FILE_BYTES = 256 * 1024;
/** SIGTERM, then SIGKILL after this long (stop). */
/**
 * The last `tailLines` lines of `text` (all of it for null), and whether anything was
 * left out. A final line without a newline counts as a line.
 */
export function tailText(
  text: string,
  tailLines: number | null,
): { text: string; truncated: boolean } {
  if (tailLines === null || text === "") return { text, truncated: false };
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  if (lines.length <= tailLines) return { text, truncated: false };
  return { text: lines.slice(lines.length - tailLines).join(""), truncated: true };
}

/**
 * A log file that never grows past SERVICE_LOG_FILE_BYTES: when full it becomes `<file>.1`
 * (replacing the previous one) and a new file starts, so a stream costs at most twice the
 * cap on disk however much the service prints. Writes are synchronous, which keeps reads
 * (also synchronous, on the same thread) from ever seeing a half-rotated pair, and lets
 * pipe back-pressure slow a flooding service down instead of buffering in memory.
 */
export class LogSink extends Writable {
  private fd: number;
  private size = 0;
  /** True once output was dropped (a rotation discarded the oldest file). */
  rotated = false;

  constructor(
    readonly file: string,
    readonly capBytes = SERVICE_LOG_FILE_BYTES,
  ) {
    super();
    this.fd = fs.openSync(file, "w", 0o600);
    // A full disk or a write after teardown must not take the whole agent down.
    this.on("error", (error) => console.error(`pyro-agent: service log ${file}: ${error.message}`));
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    try {
      let offset = 0;
      while (offset < chunk.length) {
        if (this.size >= this.capBytes) this.rotate();
        const length = Math.min(this.capBytes - this.size, chunk.length - offset);
        fs.writeSync(this.fd, chunk, offset, length);
        this.size += length;
        offset += length;
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.closeFd();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeFd();
    callback(error);
  }

  /** Everything still on disk, oldest first; after a rotation, from the first whole line. */
  readAll(): string {
    let older = "";
    try {
      older = fs.readFileSync(`${this.file}.1`, "utf8");
    } catch {
      // not rotated yet
    }
    let current = "";
    try {
      current = fs.readFileSync(this.file, "utf8");
    } catch {
      // removed by a teardown
    }
    if (!this.rotated) return current;
    const combined = older + current;
    const newline = combined.indexOf("\n");
    return newline >= 0 ? combined.slice(newline + 1) : combined;
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    fs.renameSync(this.file, `${this.file}.1`);
    this.fd = fs.openSync(this.file, "w", 0o600);
    this.size = 0;
    this.rotated = true;
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = -1;
  }
}
