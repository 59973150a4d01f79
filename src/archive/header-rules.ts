/**
 * Refuses the tar header kinds whose meaning GNU tar and node-tar may disagree on, with a
 * message naming the member and the rule.
 *
 * Extraction with GNU tar only ever reads the canonical archive written from the members
 * validation accepted (canonical.ts), so a disagreement can no longer redirect a write;
 * these rules make such archives fail loudly instead of being read one parser's way.
 * Refused: pax global headers setting `path`, `linkpath`, `size` or any `GNU.*` key; `GNU.*`
 * keys (sparse maps and renames, dump dirs, volumes) in pax extended headers; malformed pax
 * records or values with a newline (node-tar splits records on newlines, GNU tar trusts
 * the lengths); two pax headers, two GNU long names or two long links for one member, a
 * pax `path` with a GNU long name or a pax `linkpath` with a GNU long link; old GNU `N`
 * headers; a ustar magic with a version other than "00" (GNU tar then reads the prefix
 * field, node-tar does not).
 *
 * The scanner walks the raw blocks as node-tar's parser does (a header, then
 * ceil(size / 512) blocks, the size from a pending pax header when it has one).
 */
import { UnsafeArchiveError } from "../errors.js";

const BLOCK = 512;
/** node-tar's own limit for a meta header body; bigger ones are refused by validation. */
const MAX_META = 1024 * 1024;

interface Pending {
  pax?: Map<string, string>;
  longName: number;
  longLink: number;
  /** First rule a meta header broke; reported with the member it belongs to. */
  violation?: string;
}

export class HeaderScanner {
  private buffer = Buffer.alloc(0);
  /** Bytes of member data still to skip. */
  private skip = 0;
  /** The meta header whose body is being collected, and what is left of it. */
  private meta: { type: string; name: string; size: number; chunks: Buffer[] } | undefined;
  private metaRemain = 0;
  private pending: Pending = { longName: 0, longLink: 0 };
  private stopped = false;

  /** Feeds the next bytes of the (decompressed) tar stream. Throws UnsafeArchiveError. */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    let data = this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    this.buffer = Buffer.alloc(0);
    while (data.length > 0 && !this.stopped) {
      if (this.skip > 0) {
        const step = Math.min(this.skip, data.length);
        this.skip -= step;
        data = data.subarray(step);
        continue;
      }
      if (this.meta) {
        const step = Math.min(this.metaRemain, data.length);
        this.meta.chunks.push(data.subarray(0, step));
        this.metaRemain -= step;
        data = data.subarray(step);
        if (this.metaRemain === 0) {
          const meta = this.meta;
          this.meta = undefined;
          this.onMetaBody(meta.type, meta.name, Buffer.concat(meta.chunks).subarray(0, meta.size));
        }
        continue;
      }
      if (data.length < BLOCK) {
        this.buffer = Buffer.from(data);
        return;
      }
      this.onHeader(data.subarray(0, BLOCK));
      data = data.subarray(BLOCK);
    }
  }

  private onHeader(block: Buffer): void {
    // Parsed by hand (node-tar's Header costs as much as the parse it mirrors), reading
    // each field the way node-tar's Header does.
    if (isZeroBlock(block)) return;
    if (!checksumValid(block)) {
      // node-tar refuses it (strict mode); nothing more to scan.
      this.stopped = true;
      return;
    }
    const type = block[156] === 0 ? "0" : String.fromCharCode(block[156] ?? 0);
    const name = cString(block, 0, 100);
    const paxSize = this.pending.pax?.get("size");
    const headerSize = numberField(block, 124, 12);
    if (headerSize === null) {
      this.stopped = true;
      return;
    }
    const size = paxSize !== undefined && Number(paxSize) >= 0 ? Number(paxSize) : headerSize;
    const blocks = BLOCK * Math.ceil(size / BLOCK);

    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (type === "x" && this.pending.pax) this.violate("more than one pax extended header");
      if (type === "L" && ++this.pending.longName > 1) this.violate("more than one GNU long name");
      if (type === "K" && ++this.pending.longLink > 1) this.violate("more than one GNU long link");
      if (size > MAX_META) {
        // node-tar ignores it and validation refuses it.
        this.stopped = true;
        return;
      }
      if (size === 0) {
        this.onMetaBody(type, name, Buffer.alloc(0));
        return;
      }
      this.meta = { type, name, size, chunks: [] };
      this.metaRemain = blocks;
      return;
    }
    if (type === "N") {
      throw refusal(
        name,
        "is an old GNU 'N' long-name header, which only node-tar reads as a name",
      );
    }
    const version = block.subarray(263, 265).toString("latin1");
    if (block.subarray(257, 263).toString("latin1") === "ustar\0" && version !== "00") {
      throw refusal(
        name,
        `has a ustar version other than "00" (${JSON.stringify(version)}), whose prefix field the tar readers read differently`,
      );
    }
    const pending = this.pending;
    this.pending = { longName: 0, longLink: 0 };
    if (pending.violation !== undefined) throw refusal(name, pending.violation);
    this.skip = blocks;
  }

  private onMetaBody(type: string, headerName: string, body: Buffer): void {
    if (type === "L" || type === "K") {
      if (type === "L" && this.pending.pax?.has("path")) {
        this.violate("has both a pax path and a GNU long name");
      }
      if (type === "K" && this.pending.pax?.has("linkpath")) {
        this.violate("has both a pax linkpath and a GNU long link");
      }
      return;
    }
    const records = parsePax(body);
    if (typeof records === "string") {
      this.violate(
        `has a malformed pax ${type === "g" ? "global" : "extended"} header (${records})`,
      );
      return;
    }
    if (type === "g") {
      for (const key of records.keys()) {
        if (key === "path" || key === "linkpath" || key === "size" || key.startsWith("GNU.")) {
          // A global header belongs to no member: refuse it at once.
          throw refusal(
            headerName,
            `is a pax global header setting ${quoteKey(key)}, which the tar readers apply differently`,
          );
        }
      }
      return;
    }
    for (const key of records.keys()) {
      if (key.startsWith("GNU.")) {
        this.violate(`has the pax key ${quoteKey(key)}, which only GNU tar interprets`);
      }
    }
    const size = records.get("size");
    if (size !== undefined && !/^[0-9]+$/.test(size)) {
      this.violate(`has a pax size that is not a decimal number (${quoteKey(size)})`);
    }
    if (records.has("path") && this.pending.longName > 0) {
      this.violate("has both a pax path and a GNU long name");
    }
    if (records.has("linkpath") && this.pending.longLink > 0) {
      this.violate("has both a pax linkpath and a GNU long link");
    }
    this.pending.pax = records;
  }

  private violate(rule: string): void {
    this.pending.violation ??= rule;
  }
}

function isZeroBlock(block: Buffer): boolean {
  for (let index = 0; index < BLOCK; index += 1) if (block[index] !== 0) return false;
  return true;
}

/** The header checksum: the sum of all bytes with the checksum field read as spaces. */
function checksumValid(block: Buffer): boolean {
  let sum = 8 * 0x20;
  for (let index = 0; index < BLOCK; index += 1) {
    if (index < 148 || index >= 156) sum += block[index] ?? 0;
  }
  // node-tar reads 12 bytes here (into the type flag); parseInt stops at the first non-digit.
  return numberField(block, 148, 12) === sum;
}

function cString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString("utf8");
}

/**
 * A numeric field as node-tar's Header reads it: octal up to a NUL (trimmed, parseInt), or
 * base-256 after a 0x80 (positive) or 0xff (negative, read as 0 here) byte. Null when
 * node-tar would refuse the header.
 */
function numberField(block: Buffer, offset: number, length: number): number | null {
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) return 0;
    if (first !== 0x80) return null;
    let value = 0;
    for (let index = 1; index < length; index += 1)
      value = value * 256 + (block[offset + index] ?? 0);
    return value;
  }
  const value = parseInt(cString(block, offset, length).trim(), 8);
  return Number.isNaN(value) ? 0 : value;
}

/** Strict pax records: "<len> <key>=<value>\n" with exact lengths and no newline in a value. */
function parsePax(body: Buffer): Map<string, string> | string {
  const records = new Map<string, string>();
  let offset = 0;
  // Trailing NULs pad some writers' bodies.
  let end = body.length;
  while (end > 0 && body[end - 1] === 0) end -= 1;
  while (offset < end) {
    const space = body.indexOf(0x20, offset);
    if (space === -1 || space - offset > 20) return "a record without a length";
    const length = Number(body.subarray(offset, space).toString("latin1"));
    if (!Number.isSafeInteger(length) || length <= space - offset + 1 || offset + length > end) {
      return "a record length that does not match its data";
    }
    const record = body.subarray(space + 1, offset + length);
    if (record[record.length - 1] !== 0x0a) return "a record that does not end in a newline";
    const text = record.subarray(0, record.length - 1).toString("utf8");
    const equals = text.indexOf("=");
    if (equals <= 0) return "a record without a key";
    const value = text.slice(equals + 1);
    if (value.includes("\n")) return `a newline in the value of ${quoteKey(text.slice(0, equals))}`;
    records.set(text.slice(0, equals), value);
    offset += length;
  }
  return records;
}

function quoteKey(key: string): string {
  return quote(key);
}

function refusal(member: string, rule: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`unsupported archive header: member ${quote(member)} ${rule}`, {
    member,
    rule,
  });
}

/** Quotes a name for a message, making control characters visible (as validate.ts does). */
function quote(value: string): string {
  let visible = "";
  for (const char of value) {
    const code = char.charCodeAt(0);
    visible += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : char;
  }
  return `'${visible}'`;
}
