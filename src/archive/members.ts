/**
 * The per-member rules of archive validation (see validate.ts): what a member may be, where
 * it may write, and what extraction must know about the members seen so far.
 */
import path from "node:path";
import type { ReadEntry } from "tar";

import { UnsafeArchiveError, ValidationError } from "../errors.js";
import type { CanonicalMember } from "./canonical.js";
import { quote } from "./quote.js";

/** node-tar's own default `maxDepth`; deeper members would be skipped with a warning. */
const MAX_DEPTH = 1024;

const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);
const ALLOWED_TYPES = new Set([...FILE_TYPES, "Directory", "SymbolicLink", "Link"]);

/** Checks each member in archive order and remembers what later members are checked against. */
export class MemberTracker {
  entryCount = 0;
  totalBytes = 0;
  /** Whether a later member replaces an earlier one at the same path. */
  replacesMembers = false;
  /** Latest type written at each normalised path (for hard link targets). */
  private readonly current = new Map<string, string>();
  /** Every path that was a symlink at any point: nothing may be written below it. */
  private readonly everSymlink = new Set<string>();
  /** Symlinks that end up being the last member at their path. */
  readonly symlinks = new Map<string, string>();
  /** Proper prefixes to check on disk, with the first member that needed them. */
  readonly prefixUsers = new Map<string, string>();
  /**
   * Directory members at a path no earlier member wrote: one already on disk must not be
   * a symlink (GNU tar would treat the symlink as the directory and chmod its target).
   */
  readonly directoryUsers = new Map<string, string>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxTotalBytes: number,
  ) {}

  /** Checks one member; returns what the canonical writer records for it. */
  add(entry: ReadEntry): CanonicalMember {
    this.countEntry();
    const raw = entry.path;
    const type = entry.type;
    checkType(raw, type);
    const name = normalizeMemberPath(raw);
    if (name === ".") return this.addRoot(raw, type);
    this.checkPrefixes(name, raw);
    const linkTarget = this.checkContent(entry, raw, type);
    this.record(name, raw, type, entry.linkpath ?? "");
    if (type === "Directory" || type === "SymbolicLink")
      return { name, type, linkpath: entry.linkpath };
    if (type === "Link") return { name, type, linkpath: linkTarget };
    return { name, type: "File" };
  }

  private countEntry(): void {
    this.entryCount += 1;
    if (this.entryCount > this.maxEntries) {
      throw new ValidationError(
        `archive exceeds maxEntries: more than ${this.maxEntries} members (found ${this.entryCount} so far)`,
        { limit: "maxEntries", max: this.maxEntries, value: this.entryCount },
      );
    }
  }

  /** The archive root (`./`) can only be a directory. */
  private addRoot(raw: string, type: string): CanonicalMember {
    if (type !== "Directory") {
      throw new UnsafeArchiveError(
        `unsafe archive member path: ${quote(raw)} (the archive root can only be a directory)`,
        { member: raw, type },
      );
    }
    this.current.set(".", type);
    return { name: ".", type: "Directory" };
  }

  /** Nothing may be written below a path that was a symlink earlier in the archive. */
  private checkPrefixes(name: string, rawForMessage: string): void {
    let index = name.indexOf("/");
    while (index !== -1) {
      const prefix = name.slice(0, index);
      if (this.everSymlink.has(prefix)) {
        throw new UnsafeArchiveError(
          `archive member ${quote(rawForMessage)} would traverse through a symlinked path ${quote(prefix)}`,
          { member: rawForMessage, symlink: prefix },
        );
      }
      if (!this.prefixUsers.has(prefix)) this.prefixUsers.set(prefix, rawForMessage);
      index = name.indexOf("/", index + 1);
    }
  }

  /** File data within the byte budget, hard links and symlink targets; a link's target. */
  private checkContent(entry: ReadEntry, raw: string, type: string): string | undefined {
    if (FILE_TYPES.has(type)) {
      this.totalBytes += entry.size;
      if (this.totalBytes > this.maxTotalBytes) {
        throw new ValidationError(
          `archive exceeds maxTotalBytes: more than ${this.maxTotalBytes} bytes of file data (found ${this.totalBytes} so far)`,
          { limit: "maxTotalBytes", max: this.maxTotalBytes, value: this.totalBytes },
        );
      }
    } else if (type === "Link") {
      return checkHardLink(raw, entry.linkpath ?? "", this.current, this.everSymlink);
    } else if (type === "SymbolicLink") {
      const target = entry.linkpath ?? "";
      if (target === "" || target.includes("\0")) {
        throw new UnsafeArchiveError(
          `unsafe archive member path: ${quote(raw)} (symlink with an empty or NUL-containing target)`,
          { member: raw },
        );
      }
    }
    return undefined;
  }

  /** Remembers the member as the latest at its path. */
  private record(name: string, raw: string, type: string, linkpath: string): void {
    const previous = this.current.get(name);
    if (previous !== undefined && (previous !== "Directory" || type !== "Directory")) {
      this.replacesMembers = true;
    }
    if (type === "Directory" && previous === undefined && !this.directoryUsers.has(name)) {
      this.directoryUsers.set(name, raw);
    }
    // Hard links and all regular file flavours count as "File" for later hard links.
    this.current.set(name, type === "Link" || FILE_TYPES.has(type) ? "File" : type);
    this.symlinks.delete(name);
    if (type === "SymbolicLink") {
      this.everSymlink.add(name);
      this.symlinks.set(name, linkpath);
    }
  }
}

function checkType(raw: string, type: string): void {
  if (!ALLOWED_TYPES.has(type)) {
    throw new UnsafeArchiveError(
      `unsupported archive member type ${quote(type)} for ${quote(raw)}`,
      {
        member: raw,
        type,
      },
    );
  }
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
