/**
 * Exporting one workspace path as a tar (agent or host side) and materialising such an
 * export at an exact output path (host side, from an untrusted archive).
 *
 * Archive layout: a file or symlink is a tar with one member named by its basename; a
 * directory is a tar of its contents (`note.txt`, `sub/`, ...), so extracting it into a
 * fresh directory reproduces the directory without an extra nesting level.
 */

import { randomBytes } from "node:crypto";
import { link, lstat, mkdir, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import path from "node:path";

import { NotFoundError, PyroError, UnsafeArchiveError, ValidationError } from "../errors.js";
import { writeArchive } from "./create.js";
import { gnuTar, packWithGnuTar } from "./gnu-tar.js";
import { extractArchive } from "./extract.js";
import { errnoCode, quote } from "./validate.js";

export type ArtifactType = "file" | "directory" | "symlink";

const ARTIFACT_TYPES: readonly ArtifactType[] = ["file", "directory", "symlink"];

export interface ExportPathOptions {
  /** Workspace root; relativePath must stay inside it. */
  root: string;
  relativePath: string;
  /** Output .tar file (must not be inside the exported directory). */
  file: string;
}

export interface ExportPathResult {
  artifact_type: ArtifactType;
  /** Members in the archive, not counting a root `./` entry. */
  entry_count: number;
}

/** Tars root/relativePath into `file`: see the module comment for the layout. */
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
  let stats;
  try {
    stats = await lstat(source);
  } catch (error) {
    if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") {
      throw new NotFoundError(`workspace path does not exist: ${quote(options.relativePath)}`, {
        path: options.relativePath,
      });
    }
    throw error;
  }

  if (stats.isDirectory()) {
    const file = path.resolve(options.file);
    if (file === source || file.startsWith(source + path.sep)) {
      throw new ValidationError(
        `export file must not be inside the exported directory: ${quote(options.file)}`,
        {
          file: options.file,
        },
      );
    }
    const tar = gnuTar();
    if (tar) {
      return {
        artifact_type: "directory",
        entry_count: await packWithGnuTar(tar, source, file, "relative"),
      };
    }
    const names = (await readdir(source)).sort();
    // An empty directory still needs one member: node-tar refuses a tar with none.
    const entries = names.length > 0 ? names : ["."];
    const entryCount = await writeArchive({ cwd: source, entries, file }, { worker: true });
    return { artifact_type: "directory", entry_count: entryCount };
  }
  if (stats.isFile() || stats.isSymbolicLink()) {
    await writeArchive({
      cwd: path.dirname(source),
      entries: [path.basename(source)],
      file: options.file,
    });
    return { artifact_type: stats.isFile() ? "file" : "symlink", entry_count: 1 };
  }
  throw new ValidationError(
    `workspace path is not a file, directory or symlink: ${quote(options.relativePath)}`,
    { path: options.relativePath },
  );
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
    await extractArchive(options.file, temp);
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
