/**
 * Reading a stopped guest's ext4 root filesystem without booting it or mounting it:
 * `qemu-img convert` turns its qcow2 overlay (with the environment image as backing file)
 * into a private raw copy, and debugfs (e2fsprogs, no root needed) lists and reads that
 * copy. The workspace's own disk is only ever read.
 *
 * Paths are resolved here, one component at a time by inode number (`ls -p <ino>`), never
 * by debugfs's own name lookup, which follows symlinks: a symlink anywhere on a path is
 * refused, as on a running sandbox (no-follow.ts), and a name cannot inject a debugfs
 * command because commands only ever name inodes.
 */
import { spawn } from "node:child_process";

import { NotFoundError, PyroError, ValidationError } from "../errors.js";
import { runTool } from "../environments/host-tools.js";

/** The root directory's inode in every ext2/3/4 filesystem. */
const ROOT_INODE = 2;

export interface ImageEntry {
  inode: number;
  name: string;
  /** st_mode: type and permission bits. */
  mode: number;
  size: number;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export function entryType(mode: number): "file" | "directory" | "symlink" | "other" {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symlink";
    default:
      return "other";
  }
}

export class Ext4Image {
  constructor(
    private readonly debugfs: string,
    readonly image: string,
  ) {}

  /** Runs debugfs commands (one per line) against the image; returns its stdout. */
  async run(commands: string[], options: { write?: boolean } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const args = ["-f", "-", ...(options.write ? ["-w"] : []), this.image];
      const child = spawn(this.debugfs, args, { stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      let err = "";
      child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
      child.on("error", reject);
      child.on("close", (code) => {
        if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
        else reject(toolFailed("debugfs", code, err));
      });
      child.stdin.end(`${commands.join("\n")}\n`);
    });
  }

  /** The entries of directory `inode` (without . and ..). */
  async list(inode: number): Promise<ImageEntry[]> {
    return parseListing(await this.run([`ls -p <${inode}>`]));
  }

  /** The entries of several directories at once (one debugfs run). */
  async listMany(inodes: number[]): Promise<Map<number, ImageEntry[]>> {
    const result = new Map<number, ImageEntry[]>();
    if (inodes.length === 0) return result;
    const output = await this.run(inodes.map((inode) => `ls -p <${inode}>`));
    for (const [command, body] of splitByCommand(output)) {
      const inode = Number(/<(\d+)>/.exec(command)?.[1]);
      result.set(inode, parseListing(body));
    }
    return result;
  }

  /** mtime (seconds) and, for fast symlinks, the target, of each inode (one debugfs run). */
  async stat(inodes: number[]): Promise<Map<number, { mtime: number; fastLink: string | null }>> {
    const result = new Map<number, { mtime: number; fastLink: string | null }>();
    if (inodes.length === 0) return result;
    const output = await this.run(inodes.map((inode) => `stat <${inode}>`));
    for (const [command, body] of splitByCommand(output)) {
      const inode = Number(/<(\d+)>/.exec(command)?.[1]);
      const mtime = /^\s*mtime: 0x([0-9a-f]+)(?::([0-9a-f]+))?/m.exec(body);
      let seconds = mtime ? Number.parseInt(mtime[1] as string, 16) : 0;
      if (mtime?.[2]) {
        const extra = Number.parseInt(mtime[2], 16);
        // ext4's extra field: epoch bits (dates past 2038) and nanoseconds << 2.
        seconds += (extra & 3) * 2 ** 32 + Math.floor(extra / 4) / 1e9;
      }
      const fast = /^Fast link dest: "(.*)"$/m.exec(body);
      result.set(inode, { mtime: Math.round(seconds * 1000) / 1000, fastLink: fast?.[1] ?? null });
    }
    return result;
  }

  /**
   * The physical blocks of each inode, from the EXTENTS or BLOCKS section of `stat` (an
   * inode with inline data or a fast symlink has none: its bytes are in the inode).
   */
  async dataBlocks(inodes: number[]): Promise<number[]> {
    if (inodes.length === 0) return [];
    const output = await this.run(inodes.map((inode) => `stat <${inode}>`));
    const blocks: number[] = [];
    for (const [, body] of splitByCommand(output)) {
      const section = /^(?:EXTENTS|BLOCKS):\n([\s\S]*)/m.exec(body)?.[1] ?? "";
      for (const match of section.matchAll(/\([^)]*\):(\d+)(?:-(\d+))?/g)) {
        const first = Number(match[1]);
        const last = match[2] ? Number(match[2]) : first;
        for (let block = first; block <= last; block++) blocks.push(block);
      }
    }
    return blocks;
  }

  /** Up to `maxBytes` of inode's content (a file's bytes, a slow symlink's target). */
  async read(inode: number, maxBytes: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.debugfs, ["-R", `cat <${inode}>`, this.image], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const chunks: Buffer[] = [];
      let length = 0;
      let done = false;
      let err = "";
      child.stdout.on("data", (chunk: Buffer) => {
        if (done) return;
        chunks.push(chunk);
        length += chunk.length;
        if (length >= maxBytes) {
          done = true;
          child.kill("SIGKILL");
          resolve(Buffer.concat(chunks).subarray(0, maxBytes));
        }
      });
      child.stderr.on("data", (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
      child.on("error", reject);
      child.on("close", (code) => {
        if (done) return;
        if (code === 0) resolve(Buffer.concat(chunks));
        else reject(toolFailed("debugfs", code, err));
      });
    });
  }

  /**
   * The entry at absolute guest `guestPath` (e.g. /workspace/src/a.c), walking from the
   * root by inode; a symlink or non-directory on the way is refused, a missing component
   * is not_found. The root itself is returned as a directory entry named "/".
   */
  async resolve(guestPath: string, field: string, mountPoint = "/"): Promise<ImageEntry> {
    let current: ImageEntry = { inode: ROOT_INODE, name: "/", mode: S_IFDIR | 0o755, size: 0 };
    const all = guestPath.split("/").filter(Boolean);
    // The image's root is the guest's `mountPoint` (a workspace volume's is /workspace).
    const mounted = mountPoint.split("/").filter(Boolean).length;
    const parts = all.slice(mounted);
    for (let index = 0; index < parts.length; index++) {
      const walked = `/${all.slice(0, mounted + index).join("/")}`;
      if (entryType(current.mode) === "symlink") {
        throw new ValidationError(
          `${field} must not pass through a symlink: '${walked}' is a symlink (${field} '${guestPath}')`,
          { field, value: guestPath, component: walked },
        );
      }
      if (entryType(current.mode) !== "directory") {
        throw new ValidationError(
          `${field} must only pass through directories: '${walked}' is not a directory (${field} '${guestPath}')`,
          { field, value: guestPath, component: walked },
        );
      }
      const name = parts[index] as string;
      const next = (await this.list(current.inode)).find((entry) => entry.name === name);
      if (!next) {
        const missing = `/${all.slice(0, mounted + index + 1).join("/")}`;
        throw new NotFoundError(
          `${field} does not exist on the workspace's disk: '${missing}' (${field} '${guestPath}')`,
          { field, value: guestPath, component: missing },
        );
      }
      current = next;
    }
    return current;
  }
}

/** `ls -p` lines: `/inode/mode/uid/gid/name/size/`, size empty for directories. */
function parseListing(output: string): ImageEntry[] {
  const entries: ImageEntry[] = [];
  for (const line of output.split("\n")) {
    const match = /^\/(\d+)\/([0-7]+)\/\d+\/\d+\/(.*)\/(\d*)\/$/.exec(line);
    if (!match) continue;
    const name = match[3] as string;
    if (name === "." || name === "..") continue;
    entries.push({
      inode: Number(match[1]),
      mode: Number.parseInt(match[2] as string, 8),
      name,
      size: match[4] ? Number(match[4]) : 0,
    });
  }
  return entries;
}

/** debugfs -f echoes each command as `debugfs: <command>`: the output of each, in order. */
function splitByCommand(output: string): Array<[string, string]> {
  const parts: Array<[string, string]> = [];
  let command: string | null = null;
  let body: string[] = [];
  for (const line of output.split("\n")) {
    if (line.startsWith("debugfs: ")) {
      if (command !== null) parts.push([command, body.join("\n")]);
      command = line.slice("debugfs: ".length);
      body = [];
    } else {
      body.push(line);
    }
  }
  if (command !== null) parts.push([command, body.join("\n")]);
  return parts;
}

function toolFailed(tool: string, code: number | null, stderr: string): PyroError {
  return new PyroError(
    "backend_error",
    `${tool} failed (exit ${String(code)}): ${stderr.trim().split("\n").slice(-3).join(" / ")}`,
    { tool },
  );
}

/** A raw copy of a qcow2 (or raw) disk at `output` (sparse): the workspace's disk is only read. */
export async function convertToRaw(
  qemuImg: string,
  disk: { path: string; format: "qcow2" | "raw" },
  output: string,
): Promise<void> {
  // -U: share the image with nothing running, but do not fail on a stale lock a killed
  // qemu left; the caller made sure no VM uses it.
  await runTool(qemuImg, ["convert", "-U", "-f", disk.format, "-O", "raw", disk.path, output]);
}

/** Guest paths that only ever hold runtime state (secrets, shell and service state). */
const RUNTIME_ONLY_PATHS = ["/run/pyro-secrets", "/run/pyro-shells", "/run/pyro-services"];

/**
 * Removes `RUNTIME_ONLY_PATHS` from a raw image (a private copy: never the workspace's
 * disk). The journal is replayed first, so nothing comes back at the next mount; every
 * data block of every file and directory below them is zeroed and every inode cleared
 * (inline data lives in the inode), the top entries unlinked, and e2fsck then frees what
 * is left and fixes the counts. Returns the paths that were there.
 *
 * Not zeroed: old copies in the journal's own blocks (metadata only, under data=ordered:
 * an inline file's bytes could be among them) and blocks freed before the export. In pyro's
 * guests /run is a tmpfs, so these paths are normally not on the disk at all.
 */
export async function scrubRuntimePaths(image: Ext4Image, e2fsck: string): Promise<string[]> {
  await fsck(e2fsck, image.image, ["-E", "journal_only", "-y"]);
  const scrubbed: string[] = [];
  const commands: string[] = [];
  for (const guestPath of RUNTIME_ONLY_PATHS) {
    let top: ImageEntry;
    try {
      top = await image.resolve(guestPath, "path");
    } catch (error) {
      if (error instanceof PyroError) continue; // absent, or not reachable without a symlink
      throw error;
    }
    scrubbed.push(guestPath);
    const inodes = [top];
    for (let level = [top]; level.length > 0;) {
      const dirs = level.filter((entry) => entryType(entry.mode) === "directory");
      const listed = await image.listMany(dirs.map((entry) => entry.inode));
      level = [...listed.values()].flat();
      inodes.push(...level);
    }
    const blocks = await image.dataBlocks(inodes.map((entry) => entry.inode));
    for (const block of blocks) commands.push(`zap_block ${block}`);
    for (const entry of inodes) commands.push(`clri <${entry.inode}>`);
    const parent = await image.resolve(guestPath.slice(0, guestPath.lastIndexOf("/")), "path");
    // A fixed name of ours: safe to pass to debugfs's parser as it is.
    commands.push(`cd <${parent.inode}>`, `unlink ${top.name}`);
  }
  if (commands.length === 0) return scrubbed;
  await image.run(commands, { write: true });
  await fsck(e2fsck, image.image, ["-f", "-y"]);
  return scrubbed;
}

/** e2fsck; exit 1 (errors corrected) is success here. */
async function fsck(e2fsck: string, image: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(e2fsck, [...args, image], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0 || code === 1) resolve();
      else reject(toolFailed("e2fsck", code, err));
    });
  });
}

/** Replays the journal of a raw copy, so its recent changes are visible to debugfs. */
export function replayJournal(e2fsck: string, image: string): Promise<void> {
  return fsck(e2fsck, image, ["-E", "journal_only", "-y"]);
}
