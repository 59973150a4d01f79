/**
 * Tarring what lies in an open directory, without following symlinks planted in it: the
 * source side of an export, where the tree belongs to whatever runs in the sandbox.
 *
 * The tools work *in* the directory we opened (a child's cwd is `/proc/self/fd/<fd>`,
 * entered before exec while it still holds our descriptor), so no path above it is ever
 * resolved again. GNU tar is given only top-level names and recurses itself: it walks with
 * openat(2) and O_NOFOLLOW below each directory it opened (a directory swapped for a symlink
 * is archived as the symlink, never entered). A list of deep names would be resolved
 * component by component and could be redirected by a directory swapped for a symlink
 * between listing and reading. Sockets, FIFOs and devices, which extraction refuses, are
 * excluded by exact name.
 *
 * Without GNU tar, node-tar packs from the same directory; it never descends into a
 * symlink, but reads below the top level by path, so a concurrent swap of a directory for
 * a symlink is not excluded there.
 *
 * Bundled into the guest agent, which runs on Node 18.
 */
import { spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";

import { PyroError } from "../errors.js";
import { fdPath, sharedFdPath } from "../no-follow.js";
import { writeArchive } from "./create.js";
import { gnuTar, PACK_LISTED, TAR_PACK_COMMON } from "./gnu-tar.js";

/**
 * Tars the contents of open directory `dirFd` into `file`: members named relative to it
 * (`note.txt`, `sub/`, ...), after a root entry (`./`, the directory's own mode and mtime,
 * which a reset restores to /workspace; node-tar writes it only for an empty directory).
 * Returns the member count, the root not counted.
 */
export async function packOpenDirectory(
  dirFd: number,
  file: string,
  recordBlocks?: number,
): Promise<number> {
  const tar = gnuTar();
  if (!tar) {
    const names = readdirSync(fdPath(dirFd)).sort();
    if (names.length === 0) {
      // An empty directory still needs one member (node-tar refuses a tar with none): its
      // root, which node-tar must see by its name (it would lstat /proc/<pid>/fd/<fd>
      // itself, a symlink). Nothing is read through it; if it was swapped for a symlink
      // meanwhile, the member is a symlink and extraction refuses it.
      return writeArchive({ cwd: readlinkSync(fdPath(dirFd)), entries: ["."], file });
    }
    return writeArchive({ cwd: sharedFdPath(dirFd), entries: names, file }, { worker: true });
  }
  const listing = await listTree(dirFd);
  const topLevel = listing.packable.filter((name) => !name.includes("/"));
  // Exclusion patterns are matched literally against whole member names; -X reads them
  // one per line, so a name with a newline goes on the command line instead.
  const excludeArgs = listing.special
    .filter((name) => name.includes("\n"))
    .map((name) => `--exclude=${name}`);
  const excluded = listing.special.filter((name) => !name.includes("\n"));
  // Beside the output file: the caller's private scratch space.
  const excludeFile = `${file}.exclude`;
  if (excluded.length > 0) {
    await writeFile(excludeFile, excluded.map((name) => `${name}\n`).join(""), { mode: 0o600 });
  }
  try {
    await runTar(
      tar,
      dirFd,
      [
        "-c",
        "-f",
        file,
        ...recordArgs(recordBlocks),
        ...TAR_PACK_COMMON,
        "--no-wildcards",
        "--anchored",
        ...(excluded.length > 0 ? ["-X", excludeFile] : []),
        ...excludeArgs,
        // The root alone first (--no-recursion is positional), then the top-level names.
        "--no-recursion",
        ".",
        "--recursion",
        "--null",
        "-T",
        "-",
      ],
      topLevel.map((name) => `${name}\0`).join(""),
    );
  } finally {
    if (excluded.length > 0) await rm(excludeFile, { force: true });
  }
  return listing.packable.length;
}

/** Tars the single entry `name` (a file or symlink, stored as such) of open directory `dirFd`. */
export async function packOpenEntry(
  dirFd: number,
  name: string,
  file: string,
  recordBlocks?: number,
): Promise<void> {
  const tar = gnuTar();
  if (!tar) {
    await writeArchive({ cwd: sharedFdPath(dirFd), entries: [name], file });
    return;
  }
  // GNU tar lstats the name and opens it with O_NOFOLLOW: a file swapped for a symlink
  // meanwhile fails the export rather than being read through.
  await runTar(
    tar,
    dirFd,
    ["-c", "-f", file, ...recordArgs(recordBlocks), ...PACK_LISTED],
    `${name}\0`,
  );
}

/** GNU tar's record size (see ExportPathOptions.recordBlocks); its default when absent. */
function recordArgs(recordBlocks: number | undefined): string[] {
  return recordBlocks === undefined ? [] : ["-b", String(recordBlocks)];
}

/** Names below `dirFd` (relative, no root): what tar packs, and what it must leave out. */
async function listTree(dirFd: number): Promise<{ packable: string[]; special: string[] }> {
  const output = await collect("find", [".", "-mindepth", "1", "-printf", "%y%P\\0"], dirFd);
  const packable: string[] = [];
  const special: string[] = [];
  for (const record of output.split("\0")) {
    if (record === "") continue;
    const type = record[0];
    const name = record.slice(1);
    if (type === "f" || type === "d" || type === "l") packable.push(name);
    else special.push(name);
  }
  return { packable, special };
}

function collect(command: string, args: string[], dirFd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: fdPath(dirFd),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.once("error", (error) =>
      reject(new PyroError("internal", `${command}: ${error.message}`, {}, { cause: error })),
    );
    child.once("close", (code) =>
      code === 0
        ? resolve(Buffer.concat(chunks).toString("utf8"))
        : reject(new PyroError("internal", `listing the export failed: ${stderr.trim()}`)),
    );
  });
}

/** Runs GNU tar in `dirFd` with `names` on stdin. */
function runTar(tar: string, dirFd: number, args: string[], names: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tar, args, {
      cwd: fdPath(dirFd),
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-2000);
    });
    child.once("error", (error) =>
      reject(new PyroError("internal", `tar: ${error.message}`, {}, { cause: error })),
    );
    child.once("close", (code) => {
      if (code === 0) {
        resolve();
        return;
      }
      const first = stderr.trim().split("\n")[0] ?? "";
      const detail =
        first.replace(/^\S*\/tar: /, "tar: ") || `tar exited with code ${String(code)}`;
      reject(new PyroError("internal", `failed to archive the export: ${detail}`));
    });
    // EPIPE if tar dies early: its exit status tells the story.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(names);
  });
}
