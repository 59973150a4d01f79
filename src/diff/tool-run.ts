/**
 * Runs the native tools of a guest manifest (find, xargs + sha256sum) with their input and
 * output in anonymous files instead of pipes.
 *
 * Under TCG each pipe write that wakes the agent costs a switch of the one emulated CPU
 * between the tool and the agent's Node: `sha256sum` writes its 10,000 lines in 4 KiB
 * blocks, `find` its listing likewise, and reading them through pipes made hashing 10,000
 * cached files take 1.15-1.8 s in the agent against 0.75 s for the same command in a shell
 * (docs/performance.md). A file the tool writes is read once, after it exits.
 *
 * The files have no name (O_TMPFILE), so nothing is left behind whatever kills the agent;
 * where the filesystem cannot make one, a file created under a fresh name and unlinked at
 * once stands in for it.
 *
 * This module is bundled into the guest agent, which runs on Node 18: only use Node 18 APIs.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import path from "node:path";

import { fdPath } from "../no-follow.js";

/** Linux's __O_TMPFILE (the same on x86 and arm64); O_TMPFILE is it with O_DIRECTORY. */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

interface ToolRun {
  /** The directory the tool runs in, as an open descriptor (entered by /proc/self/fd/N). */
  dirFd: number;
  /**
   * Where the anonymous files are made: the agent's state directory, a tmpfs in a guest, so
   * that a root disk filled by the user's work cannot cut a listing short.
   */
  tempDir: string;
  /** The tool's standard input, if any. */
  input?: string;
  /** Run the tool at the lowest CPU priority (a background prime of the digest cache). */
  background?: boolean;
}

/** An open, empty read-write file that has no name in `dir`. */
function anonymousFile(dir: string): number {
  try {
    return openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    const name = path.join(dir, `.pyro-tool-${process.pid}-${randomBytes(6).toString("hex")}`);
    const fd = openSync(name, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    unlinkSync(name);
    return fd;
  }
}

/**
 * The content of a file from its start (the tool's writes moved the shared offset), at most
 * `limit` bytes.
 */
function readWhole(fd: number, limit = Infinity): Buffer {
  const size = Math.min(fstatSync(fd).size, limit);
  const buffer = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    const read = readSync(fd, buffer, done, size - done, done);
    if (read === 0) break;
    done += read;
  }
  return buffer.subarray(0, done);
}

/** What a tool wrote and how it ended. */
interface ToolResult {
  output: Buffer;
  status: number;
  /** The start of its standard error, for an error message. */
  errors: string;
}

/** How much of a tool's standard error is kept. */
const ERRORS_KEPT = 500;

/**
 * Runs `command` and resolves with its output and exit status (the caller decides what a
 * non-zero status means: sha256sum's for a file that vanished meanwhile is expected);
 * rejects only when the command cannot run or is killed.
 */
export async function runTool(command: string, args: string[], run: ToolRun): Promise<ToolResult> {
  // `nice` runs the tool at the lowest priority: a background prime yields to commands.
  if (run.background) [command, args] = ["nice", ["-n", "19", command, ...args]];
  const output = anonymousFile(run.tempDir);
  const errors = anonymousFile(run.tempDir);
  let input: number | null = null;
  try {
    if (run.input !== undefined) {
      input = anonymousFile(run.tempDir);
      // Positioned writes: the offset stays at 0 for the tool to read from.
      const bytes = Buffer.from(run.input, "utf8");
      for (let done = 0; done < bytes.length;) {
        done += writeSync(input, bytes, done, bytes.length - done, done);
      }
    }
    const stdin = input ?? "ignore";
    const status = await new Promise<number>((resolve, reject) => {
      const child = spawn(command, args, {
        cwd: fdPath(run.dirFd),
        stdio: [stdin, output, errors],
      });
      child.once("error", reject);
      child.once("close", (code) =>
        code === null ? reject(new Error(`${command} was killed`)) : resolve(code),
      );
    });
    const errorText = readWhole(errors, ERRORS_KEPT).toString("utf8");
    return { output: readWhole(output), status, errors: errorText };
  } finally {
    closeSync(output);
    closeSync(errors);
    if (input !== null) closeSync(input);
  }
}
