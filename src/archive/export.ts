/**
 * Exporting one workspace path as a tar (agent or host side) and materialising such an
 * export at an exact output path (host side, from an untrusted archive).
 *
 * Archive layout: a file or symlink is a tar with one member named by its basename; a
 * directory is a tar of its contents (`note.txt`, `sub/`, ...), so extracting it into a
 * fresh directory reproduces the directory without an extra nesting level.
 */

import { randomBytes } from "node:crypto";
import { closeSync } from "node:fs";
import { link, lstat, mkdir, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import path from "node:path";

import { NotFoundError, PyroError, UnsafeArchiveError, ValidationError } from "../errors.js";
import {
  UnsafePathError,
  lstatAt,
  openDirectory,
  openDirectoryAt,
  openDirectoryBelow,
  unsafePathError,
} from "../no-follow.js";
import { extractArchive } from "./extract.js";
import { packOpenDirectory, packOpenEntry } from "./pack-fd.js";
import { errnoCode, quote } from "./quote.js";

export type ArtifactType = "file" | "directory" | "symlink";

const ARTIFACT_TYPES: readonly ArtifactType[] = ["file", "directory", "symlink"];

export interface ExportPathOptions {
  /** Workspace root; relativePath must stay inside it. */
  root: string;
  relativePath: string;
  /** Output .tar file (must not be inside the exported directory). */
  file: string;
  /**
   * GNU tar's record size in 512-byte blocks (`-b`), for an archive written into a pipe:
   * tar writes one record per system call, and its default of 10 KiB made a pipe's two
   * ends trade places 26,000 times for 256 MiB, each a switch of the guest's emulated CPU.
   * The archive's end is padded with zeros to a whole record.
   */
  recordBlocks?: number;
}

export interface ExportPathResult {
  artifact_type: ArtifactType;
  /** Members in the archive, not counting a root `./` entry. */
  entry_count: number;
}

/**
 * Tars root/relativePath into `file`: see the module comment for the layout. The path is
 * opened from `root` down without following any symlink (see no-follow.ts): a component
 * that is a symlink is refused, so nothing outside the root is ever read through one; the
 * last component, when it is a symlink, is exported as that symlink.
 */
export async function exportPath(options: ExportPathOptions): Promise<ExportPathResult> {
  const root = path.resolve(options.root);
  const source = path.resolve(root, options.relativePath);
  if (source !== root && !source.startsWith(root + path.sep)) {
    throw new ValidationError(
      `workspace path must stay inside the workspace: ${quote(options.relativePath)}`,
      {
        path: options.relativePath,
      },
    );
  }
  const file = path.resolve(options.file);
  if (file === source || file.startsWith(source + path.sep)) {
    throw new ValidationError(
      `export file must not be inside the exported directory: ${quote(options.file)}`,
      { file: options.file },
    );
  }
  const relative = path.relative(root, source).split(path.sep).join("/");
  const rootFd = openDirectory(root);
  try {
    if (relative === "") {
      return {
        artifact_type: "directory",
        entry_count: await packOpenDirectory(rootFd, file, options.recordBlocks),
      };
    }
    const slash = relative.lastIndexOf("/");
    const name = relative.slice(slash + 1);
    const parentFd = openParent(rootFd, slash < 0 ? "" : relative.slice(0, slash), options);
    try {
      return await exportEntry(parentFd, name, file, options);
    } finally {
      closeSync(parentFd);
    }
  } finally {
    closeSync(rootFd);
  }
}

function openParent(rootFd: number, parent: string, options: ExportPathOptions): number {
  try {
    return openDirectoryBelow(rootFd, parent);
  } catch (error) {
    if (!(error instanceof UnsafePathError)) throw error;
    if (error.reason === "missing") throw missingPath(options);
    throw unsafePathError(error, "path", options.relativePath);
  }
}

async function exportEntry(
  parentFd: number,
  name: string,
  file: string,
  options: ExportPathOptions,
): Promise<ExportPathResult> {
  let stats;
  try {
    stats = lstatAt(parentFd, name);
  } catch (error) {
    if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") {
      throw missingPath(options);
    }
    throw error;
  }
  if (stats.isDirectory()) {
    let dirFd: number;
    try {
      dirFd = openDirectoryAt(parentFd, name);
    } catch (error) {
      const code = errnoCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR" && code !== "ELOOP") throw error;
      throw new PyroError(
        "invalid_state",
        `workspace path changed while it was being exported: ${quote(options.relativePath)}`,
        { path: options.relativePath },
      );
    }
    try {
      return {
        artifact_type: "directory",
        entry_count: await packOpenDirectory(dirFd, file, options.recordBlocks),
      };
    } finally {
      closeSync(dirFd);
    }
  }
  if (stats.isFile() || stats.isSymbolicLink()) {
    await packOpenEntry(parentFd, name, file, options.recordBlocks);
    return { artifact_type: stats.isFile() ? "file" : "symlink", entry_count: 1 };
  }
  throw new ValidationError(
    `workspace path is not a file, directory or symlink: ${quote(options.relativePath)}`,
    { path: options.relativePath },
  );
}

function missingPath(options: ExportPathOptions): NotFoundError {
  return new NotFoundError(`workspace path does not exist: ${quote(options.relativePath)}`, {
    path: options.relativePath,
  });
}

export interface ExtractExportOptions {
  /** Archive produced by exportPath (untrusted). */
  file: string;
  /** Where the exported file, symlink or directory must appear; must not exist. */
  outputPath: string;
  artifactType: ArtifactType;
}

export interface ExtractExportResult {
  output_path: string;
  artifact_type: ArtifactType;
}

/**
 * Materialises an export at exactly `outputPath`: extracts into a temporary sibling
 * `<outputPath>.pyro-tmp-<random>`, then moves the single file/symlink (or the directory
 * itself) into place. On failure the temporary directory is removed and nothing is left
 * at outputPath.
 */
export async function extractExport(options: ExtractExportOptions): Promise<ExtractExportResult> {
  const { artifactType } = options;
  if (!ARTIFACT_TYPES.includes(artifactType)) {
    throw new ValidationError(
      `artifact_type must be one of file, directory, symlink: ${quote(String(artifactType))}`,
      {
        artifact_type: artifactType,
      },
    );
  }
  const outputPath = path.resolve(options.outputPath);
  await refuseExisting(outputPath);
  await mkdir(path.dirname(outputPath), { recursive: true });

  const temp = `${outputPath}.pyro-tmp-${randomBytes(6).toString("hex")}`;
  await mkdir(temp);
  try {
    // The exported directory keeps its own mode and mtime (the archive's root member).
    await extractArchive(options.file, temp, { restoreRoot: true });
    if (artifactType === "directory") {
      await refuseExisting(outputPath);
      await rename(temp, outputPath);
    } else {
      await placeSingleMember(temp, outputPath, artifactType);
    }
  } finally {
    await rm(temp, { recursive: true, force: true, maxRetries: 3 });
  }
  return { output_path: outputPath, artifact_type: artifactType };
}

async function placeSingleMember(
  temp: string,
  outputPath: string,
  artifactType: "file" | "symlink",
): Promise<void> {
  const names = await readdir(temp);
  const only = names[0];
  if (names.length !== 1 || only === undefined) {
    throw new UnsafeArchiveError(
      `export archive for a ${artifactType} must contain exactly one member, found ${names.length}`,
      { artifact_type: artifactType, members: names.slice(0, 10) },
    );
  }
  const member = path.join(temp, only);
  const stats = await lstat(member);
  const actual = stats.isSymbolicLink() ? "symlink" : stats.isFile() ? "file" : "directory";
  if (actual !== artifactType) {
    throw new UnsafeArchiveError(
      `export archive member ${quote(only)} is a ${actual}, expected a ${artifactType}`,
      { artifact_type: artifactType, member: only },
    );
  }
  try {
    if (artifactType === "symlink") {
      // symlink() fails with EEXIST rather than replacing something that appeared meanwhile.
      await symlink(await readlink(member), outputPath);
    } else {
      await linkOrRename(member, outputPath);
    }
  } catch (error) {
    if (errnoCode(error) === "EEXIST") throw alreadyExists(outputPath);
    throw error;
  }
}

/** link() never replaces an existing path; fall back to rename on filesystems without hard links. */
async function linkOrRename(source: string, destination: string): Promise<void> {
  try {
    await link(source, destination);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV")
      throw error;
    await refuseExisting(destination);
    await rename(source, destination);
  }
}

async function refuseExisting(outputPath: string): Promise<void> {
  try {
    await lstat(outputPath);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw error;
  }
  throw alreadyExists(outputPath);
}

function alreadyExists(outputPath: string): PyroError {
  return new PyroError("already_exists", `output_path already exists: ${quote(outputPath)}`, {
    output_path: outputPath,
  });
}
