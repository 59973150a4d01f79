/**
 * A raw tar writer for hostile archives: every header kind GNU tar or node-tar interprets
 * (pax extended 'x' and global 'g', GNU long name 'L' and long link 'K', sparse 'S', old
 * GNU and non-standard ustar magic, the ustar prefix field), written byte by byte so no
 * library sanitises them.
 */

export interface RawBlock {
  name: string;
  /** Typeflag: "0" file, "1" hard link, "2" symlink, "5" dir, "x", "g", "L", "K", "S", ... */
  type?: string;
  /** Member data; for 'x'/'g' use paxBody(), for 'L'/'K' the name plus a NUL. */
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  /** Bytes 257..264: default "ustar\0" + "00"; "gnu" writes old GNU's "ustar  \0". */
  magic?: "ustar" | "gnu" | "v7" | Buffer;
  /** The ustar prefix field (bytes 345..499). */
  prefix?: string;
  /** Size field when it must differ from the body length. */
  size?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

export function rawBlockHeader(member: RawBlock): Buffer {
  const header = Buffer.alloc(512);
  const body = member.body === undefined ? Buffer.alloc(0) : Buffer.from(member.body);
  const type = member.type ?? "0";
  header.write(member.name, 0, 100, "utf8");
  header.write(octal(member.mode ?? (type === "5" ? 0o755 : 0o644), 8), 100, "ascii");
  header.write(octal(0, 8), 108, "ascii");
  header.write(octal(0, 8), 116, "ascii");
  header.write(octal(member.size ?? body.length, 12), 124, "ascii");
  header.write(octal(1_700_000_000, 12), 136, "ascii");
  header.write(" ".repeat(8), 148, "ascii");
  header.write(type, 156, "ascii");
  if (member.linkname !== undefined) header.write(member.linkname, 157, 100, "utf8");
  const magic = member.magic ?? "ustar";
  if (magic === "ustar") header.write("ustar\x0000", 257, "binary");
  else if (magic === "gnu") header.write("ustar  \0", 257, "binary");
  else if (Buffer.isBuffer(magic)) magic.copy(header, 257, 0, 8);
  if (member.prefix !== undefined) header.write(member.prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
  return header;
}

/** Headers and padded bodies, then the end-of-archive marker. */
export function rawBlocks(members: RawBlock[]): Buffer {
  const blocks: Buffer[] = [];
  for (const member of members) {
    blocks.push(rawBlockHeader(member));
    if (member.body !== undefined) {
      const body = Buffer.from(member.body);
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A pax extended header body: "<len> key=value\n" records. */
export function paxBody(records: Record<string, string>): string {
  let body = "";
  for (const [key, value] of Object.entries(records)) {
    const tail = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(tail) + 1;
    while (String(length).length + Buffer.byteLength(tail) !== length) length += 1;
    body += `${length}${tail}`;
  }
  return body;
}
