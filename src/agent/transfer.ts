/**
 * Where the agent keeps bulk transfers on their way in or out.
 *
 * Uploads are staged in a scratch directory and validated in full before anything is
 * extracted. In a real guest that directory is on the guest's disk (the filesystem of
 * /workspace), not in /run: /run is a tmpfs, half the guest's memory, and a push larger
 * than that failed with ENOSPC. Exports are not staged at all: the archive is written into
 * a FIFO that the agent streams to the client as it fills, so a snapshot needs no free
 * space beside the tree it copies.
 */
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import path from "node:path";

import { PyroError } from "../errors.js";

/** The scratch directory of an agent serving a real guest: on the root disk, outside /workspace. */
export const GUEST_SCRATCH_DIR = "/var/lib/pyro-agent/scratch";
const SCRATCH_PREFIX = "tmp-";

/**
 * Creates the scratch directory (0700) and removes what a killed agent left in it: nothing
 * is in flight before the agent serves its first request.
 */
export function prepareScratch(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(SCRATCH_PREFIX)) {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

function scratchName(dir: string, suffix: string): string {
  return path.join(
    dir,
    `${SCRATCH_PREFIX}${process.pid}-${randomBytes(6).toString("hex")}-${suffix}`,
  );
}

/** Makes a FIFO (0600) with a fresh name in the scratch directory; the caller removes it. */
export function scratchFifo(dir: string, suffix: string): string {
  const fifo = scratchName(dir, suffix);
  if (spawnSync("mkfifo", ["-m", "600", fifo], { stdio: "ignore" }).status !== 0) {
    throw new PyroError("internal", `cannot make a FIFO in ${dir}`);
  }
  return fifo;
}

/**
 * Runs `use` with a fresh temp file name in the scratch directory; the file and a `.d`
 * directory beside it (files.read copies files there) are removed afterwards.
 */
export async function withScratch<T>(
  dir: string,
  suffix: string,
  use: (file: string) => Promise<T>,
): Promise<T> {
  const file = scratchName(dir, suffix);
  try {
    return await use(file);
  } finally {
    await fsp.rm(file, { force: true });
    await fsp.rm(`${file}.d`, { recursive: true, force: true });
  }
}

/**
 * Runs `produce`, which writes an archive to the file it is given, and sends what it
 * writes to the client as it is written, through a FIFO in the scratch directory; returns
 * produce's result and the byte count. Where no FIFO can be made, the archive is staged
 * in a scratch file and sent afterwards.
 */
export async function streamProduced<T>(
  dir: string,
  suffix: string,
  sendData: (chunk: Buffer) => Promise<void>,
  produce: (file: string) => Promise<T>,
): Promise<{ result: T; size: number }> {
  const fifo = scratchName(dir, `${suffix}.fifo`);
  if (spawnSync("mkfifo", ["-m", "600", fifo], { stdio: "ignore" }).status !== 0) {
    return withScratch(dir, suffix, async (file) => {
      const result = await produce(file);
      return { result, size: await sendFile(file, sendData) };
    });
  }
  try {
    // Opened for reading first and without blocking, so the producer's open never waits
    // and a producer that fails before opening cannot leave a reader hanging.
    const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const reader = new net.Socket({ fd, readable: true, writable: false });
    let size = 0;
    const drained = (async () => {
      for await (const chunk of reader) {
        size += (chunk as Buffer).length;
        await sendData(chunk as Buffer);
      }
    })();
    // Awaited below; a client gone meanwhile must not count as an unhandled rejection.
    drained.catch(() => undefined);
    let result: T;
    try {
      result = await produce(fifo);
    } catch (error) {
      reader.destroy();
      await drained.catch(() => undefined);
      throw error;
    }
    endOfData(fifo);
    await drained;
    return { result, size };
  } finally {
    await fsp.rm(fifo, { force: true });
  }
}

/**
 * The reader sees the end of the data when the last writer closes; a producer that wrote
 * nothing never opened the FIFO, so a writer comes and goes here. ENXIO: the reader has
 * already seen the end and closed.
 */
function endOfData(fifo: string): void {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch {
    // no reader left: it is done
  }
}

/** Streams a file to the client in data frames; returns its size. */
async function sendFile(file: string, sendData: (chunk: Buffer) => Promise<void>): Promise<number> {
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    size += (chunk as Buffer).length;
    await sendData(chunk as Buffer);
  }
  return size;
}
