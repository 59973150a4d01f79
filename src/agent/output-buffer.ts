/** Characters of output kept per shell (older output is dropped, cursors stay absolute). */
const SHELL_BUFFER_CHARS = 1024 * 1024;
const CHUNK_CHARS = 16 * 1024;

/**
 * The output of one shell: an append-only text whose oldest part is dropped beyond
 * `capacity`. Offsets are absolute (counted from the shell's first character, in UTF-16
 * code units), so a cursor stays valid and monotonic however much was dropped.
 */
export class OutputBuffer {
  /** Kept as chunks so dropping old output costs O(chunk), not a copy of the whole buffer. */
  private readonly chunks: string[] = [];
  private kept = 0;
  private start = 0;

  constructor(readonly capacity = SHELL_BUFFER_CHARS) {}

  /** Offset of the oldest character still kept. */
  get oldest(): number {
    return this.start;
  }

  get end(): number {
    return this.start + this.kept;
  }

  append(text: string): void {
    if (text.length === 0) return;
    const last = this.chunks.length - 1;
    // Coalesce small writes so a chatty terminal does not leave millions of tiny chunks.
    if (last >= 0 && (this.chunks[last] as string).length < CHUNK_CHARS) {
      this.chunks[last] += text;
    } else {
      this.chunks.push(text);
    }
    this.kept += text.length;
    while (this.kept > this.capacity) {
      const first = this.chunks[0] as string;
      const excess = this.kept - this.capacity;
      const drop = Math.min(first.length, excess);
      if (drop === first.length) this.chunks.shift();
      else this.chunks[0] = first.slice(drop);
      this.kept -= drop;
      this.start += drop;
    }
  }

  /**
   * Up to `maxChars` characters from `cursor`. A cursor older than the oldest kept
   * character reads from there instead and reports how much was lost in `dropped_chars`;
   * `truncated` says more output is waiting beyond `next_cursor`.
   */
  read(cursor: number, maxChars: number) {
    const from = Math.max(cursor, this.start);
    let to = Math.min(this.end, from + maxChars);
    // Never hand out half of a surrogate pair; the next read starts with the whole pair.
    if (to < this.end && to - from > 1 && isHighSurrogate(this.charCodeAt(to - 1))) to -= 1;
    const output = this.slice(from, to);
    return {
      output,
      cursor: from,
      next_cursor: to,
      truncated: to < this.end,
      dropped_chars: from - cursor,
      buffer_start: this.start,
      buffer_end: this.end,
    };
  }

  private charCodeAt(offset: number): number {
    return this.slice(offset, offset + 1).charCodeAt(0);
  }

  private slice(from: number, to: number): string {
    const parts: string[] = [];
    let position = this.start;
    for (const chunk of this.chunks) {
      const chunkEnd = position + chunk.length;
      if (chunkEnd > from && position < to) {
        parts.push(
          chunk.slice(Math.max(0, from - position), Math.min(chunk.length, to - position)),
        );
      }
      if (chunkEnd >= to) break;
      position = chunkEnd;
    }
    return parts.join("");
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
