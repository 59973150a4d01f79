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
import { lstatSync } from "node:fs";

import { PyroError } from "../errors.js";
import { fdPath } from "../no-follow.js";
import { isVanished } from "../diff/fs-walk.js";

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
    if (target.relative !== "" && isRegularFile(fdPath(rootFd, target.relative))) {
      present.push(target.relative);
    } else {
      missing.push(target.guest);
    }
  }
  if (present.length === 0) return { count: 0, missing };
  await streamTar(tar, rootFd, present, sendData);
  return { count: present.length, missing };
}

function isRegularFile(file: string): boolean {
  try {
    return lstatSync(file).isFile();
  } catch (error) {
    if (isVanished(error)) return false;
    throw error;
  }
}

/** Runs tar in the directory open as `rootFd` and sends its stdout as it comes. */
function streamTar(
  tar: string,
  rootFd: number,
  names: string[],
  sendData: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // The cwd is entered before exec, while the child still holds our descriptor.
    const child = spawn(
      tar,
      [
        ...["-c", "-f", "-", "--no-recursion", "--null", "-T", "-", "--ignore-failed-read"],
        ...["--owner=0", "--group=0", "--numeric-owner", "--format=gnu"],
      ],
      { cwd: fdPath(rootFd), stdio: ["pipe", "pipe", "pipe"] },
    );
    let stderr = "";
    let failure: Error | null = null;
    let sending = Promise.resolve();
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    // One chunk at a time: a slow host pauses tar (backpressure through the pipe).
    child.stdout.on("data", (chunk: Buffer) => {
      child.stdout.pause();
      sending = sendData(chunk).then(
        () => void child.stdout.resume(),
        (error: Error) => {
          failure ??= error;
          child.kill();
        },
      );
    });
    child.once("error", reject);
    // The last chunk is sent before the answer: the host takes the archive as complete then.
    child.once("close", (code) => {
      void sending.then(() => {
        if (failure) reject(failure);
        else if (code === 0) resolve();
        else {
          const detail = stderr.trim().split("\n")[0] || `tar exited with code ${String(code)}`;
          reject(new PyroError("internal", `failed to read files: ${detail}`));
        }
      });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(names.map((name) => `${name}\0`).join(""));
  });
}
