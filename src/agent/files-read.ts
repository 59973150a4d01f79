/**
 * `files.read` in a real guest: GNU tar reads the named files of /workspace itself and its
 * archive goes straight from its stdout to the host, one program start in all.
 *
 * The descriptor-based read (handlers.ts: each file opened without following a symlink
 * anywhere on its path, copied into a scratch tree, then `find` and `tar` over the copies,
 * through a FIFO `mkfifo` made) cost 0.7-1.3 s for the 100 changed files of a warm diff
 * under TCG, 5 ms a file for the copies alone. Inside a guest the only files a path could
 * be redirected to are the guest's own, which its user can read anyway (the same reasoning
 * as native-manifest.ts's `sha256sum`); the host backend's agent, whose links could reach
 * the host's files, keeps the descriptor-based read.
 *
 * Which names are regular files is decided by `lstat` before tar runs (`missing` lists the
 * rest, as before); a member that is a symlink or a directory by the time tar reads it is
 * archived as what it is (`--no-recursion`, never dereferenced) and the host only takes
 * regular files from the archive. A file gone by then is left out (`--ignore-failed-read`).
 */
import { spawn } from "node:child_process";

import { PACK_LISTED } from "../archive/index.js";
import { PyroError } from "../errors.js";
import { fdPath } from "../no-follow.js";
import { lstatEntry } from "./file-io.js";

/** Reads the regular files among `relatives` below the directory open as `rootFd`. */
export async function readFilesWithTar(
  tar: string,
  rootFd: number,
  relatives: { relative: string; guest: string }[],
  sendData: (chunk: Buffer) => Promise<void>,
): Promise<{ count: number; missing: string[] }> {
  const present: string[] = [];
  const missing: string[] = [];
  for (const target of relatives) {
    if (target.relative !== "" && lstatEntry(rootFd, target.relative)?.isFile() === true) {
      present.push(target.relative);
    } else {
      missing.push(target.guest);
    }
  }
  if (present.length === 0) return { count: 0, missing };
  await streamTar(tar, rootFd, present, sendData);
  return { count: present.length, missing };
}

/**
 * Runs tar in the directory open as `rootFd` and sends its stdout as it comes, one chunk at
 * a time (a slow host pauses tar through the pipe); the last chunk is sent before this
 * resolves, so the answer follows the whole archive.
 */
async function streamTar(
  tar: string,
  rootFd: number,
  names: string[],
  sendData: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  // The cwd is entered before exec, while the child still holds our descriptor.
  const child = spawn(tar, ["-c", "-f", "-", ...PACK_LISTED, "--ignore-failed-read"], {
    cwd: fdPath(rootFd),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  exited.catch(() => undefined); // awaited below
  child.stdin.on("error", () => undefined);
  child.stdin.end(names.map((name) => `${name}\0`).join(""));
  try {
    for await (const chunk of child.stdout) await sendData(chunk as Buffer);
  } catch (error) {
    child.kill();
    await exited.catch(() => undefined);
    throw error;
  }
  const code = await exited;
  if (code !== 0) {
    const detail = stderr.trim().split("\n")[0] || `tar exited with code ${String(code)}`;
    throw new PyroError("internal", `failed to read files: ${detail}`);
  }
}
