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

export class CanonicalWriter {
  constructor(private readonly out: Writable) {}

  /** Writes the member's header and pipes its data (with backpressure) to the output. */
  add(member: CanonicalMember, entry: ReadEntry): void {
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
    if (new Header(fields).encode(block)) {
      // Too long or not ASCII for the ustar fields: a pax header carries the exact values.
      this.out.write(
        new Pax({ path: name, linkpath: member.linkpath, size, mtime: entry.mtime }).encode(),
      );
    }
    this.out.write(block);
    if (!isFile) {
      entry.resume();
      return;
    }
    entry.on("data", (chunk: Buffer) => {
      if (!this.out.write(chunk)) {
        entry.pause();
        this.out.once("drain", () => entry.resume());
      }
    });
    entry.on("end", () => {
      const padding = (BLOCK - (size % BLOCK)) % BLOCK;
      if (padding > 0) this.out.write(Buffer.alloc(padding));
    });
  }

  /** The end-of-archive marker. */
  finish(): void {
    this.out.end(Buffer.alloc(2 * BLOCK));
  }
}
