/**
 * The canonical form of a validated archive: the members validation accepted, re-written
 * as plain ustar headers (with a pax `x` header only for names, link targets or numbers
 * that do not fit) by node-tar's header encoder.
 *
 * This is what GNU tar extracts: it never reads the original headers, so every name,
 * link target and type it sees is the one node-tar read and validation checked, whatever
 * pax global headers, GNU long names, sparse maps or odd magic the original used. The
 * rewrite also drops what we do not restore: owners become 0, and setuid/setgid bits (and
 * the sticky bit on anything but a directory) are cleared, so no extraction, in a guest or
 * on the host, creates a setuid or setgid file.
 *
 * The archive's root member (`./`) describes the directory the archive was made from, not
 * anything inside it: it is written only when the caller asks (`keepRoot`, a reset that
 * restores /workspace's own mode and mtime from a snapshot). A push or a seed extracts into
 * a destination that keeps its own metadata, so there the root member is dropped.
 */
import type { Writable } from "node:stream";
import { Header, Pax, type ReadEntry } from "tar";

const BLOCK = 512;

/** The permission bits extraction keeps: no setuid/setgid, sticky only on directories. */
export function safeMode(mode: number | undefined, type: string): number {
  const fallback = type === "Directory" ? 0o755 : 0o644;
  return (mode ?? fallback) & (type === "Directory" ? 0o1777 : 0o777);
}

export interface CanonicalMember {
  /** Normalised, validated name (`.` for the archive root). */
  name: string;
  type: "File" | "Directory" | "SymbolicLink" | "Link";
  /** Symlink target as stored, or the normalised hard link target. */
  linkpath?: string;
}

const TYPEFLAGS = { File: "0", Link: "1", SymbolicLink: "2", Directory: "5" } as const;
const MAX_OCTAL_12 = 0o77777777777;

/**
 * The common case by hand (node-tar's encoder costs as much per member as its parser):
 * ASCII name and link target that fit their 100-byte fields, size and mtime that fit in
 * octal. Returns false, writing nothing meaningful, when anything does not fit.
 */
function encodeSimple(
  block: Buffer,
  fields: {
    path: string;
    linkpath: string;
    mode: number;
    size: number;
    mtime?: Date;
    type: keyof typeof TYPEFLAGS;
  },
): boolean {
  const seconds = fields.mtime ? Math.floor(fields.mtime.getTime() / 1000) : 0;
  if (
    fields.path.length > 100 ||
    fields.linkpath.length > 100 ||
    !/^[\x20-\x7e]*$/.test(fields.path) ||
    !/^[\x20-\x7e]*$/.test(fields.linkpath) ||
    !(fields.size >= 0 && fields.size <= MAX_OCTAL_12) ||
    !(seconds >= 0 && seconds <= MAX_OCTAL_12)
  ) {
    return false;
  }
  block.write(fields.path, 0, 100, "latin1");
  block.write(octal(fields.mode, 8), 100, "latin1");
  block.write(octal(0, 8), 108, "latin1");
  block.write(octal(0, 8), 116, "latin1");
  block.write(octal(fields.size, 12), 124, "latin1");
  block.write(octal(seconds, 12), 136, "latin1");
  block.write("        ", 148, "latin1");
  block.write(TYPEFLAGS[fields.type], 156, "latin1");
  block.write(fields.linkpath, 157, 100, "latin1");
  block.write("ustar\x0000", 257, "latin1");
  let sum = 0;
  for (let index = 0; index < BLOCK; index += 1) sum += block[index] ?? 0;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return true;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** Small writes are batched: one stream write per member costs more than the member. */
const BATCH = 64 * 1024;

export class CanonicalWriter {
  private batch: Buffer[] = [];
  private batchBytes = 0;

  constructor(
    private readonly out: Writable,
    private readonly keepRoot = false,
  ) {}

  /** Writes the member's header and pipes its data (with backpressure) to the output. */
  add(member: CanonicalMember, entry: ReadEntry): void {
    if (member.name === "." && !this.keepRoot) {
      entry.resume();
      return;
    }
    const isFile = member.type === "File";
    const size = isFile ? entry.size : 0;
    const name =
      member.type === "Directory" ? (member.name === "." ? "./" : `${member.name}/`) : member.name;
    const fields = {
      path: name,
      linkpath: member.linkpath ?? "",
      mode: safeMode(entry.mode, member.type),
      uid: 0,
      gid: 0,
      size,
      mtime: entry.mtime,
      type: member.type,
      uname: "",
      gname: "",
    };
    const block = Buffer.alloc(BLOCK);
    if (!encodeSimple(block, fields) && new Header(fields).encode(block)) {
      // Too long or not ASCII for the ustar fields: a pax header carries the exact values.
      this.push(
        new Pax({ path: name, linkpath: member.linkpath, size, mtime: entry.mtime }).encode(),
      );
    }
    this.push(block);
    // Writes are not throttled here: the feeder waits for the output to drain before
    // it hands the parser the next chunk (driveParser's `output`).
    if (!isFile) {
      entry.resume();
      return;
    }
    entry.on("data", (chunk: Buffer) => this.push(chunk));
    entry.on("end", () => {
      const padding = (BLOCK - (size % BLOCK)) % BLOCK;
      if (padding > 0) this.push(Buffer.alloc(padding));
    });
  }

  /** The end-of-archive marker. */
  finish(): void {
    this.push(Buffer.alloc(2 * BLOCK));
    this.flush();
    this.out.end();
  }

  private push(chunk: Buffer): void {
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= BATCH) this.flush();
  }

  private flush(): void {
    if (this.batchBytes === 0) return;
    this.out.write(this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch));
    this.batch = [];
    this.batchBytes = 0;
  }
}
