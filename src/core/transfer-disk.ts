/**
 * The host's half of the transfer disk (see src/shared/transfer-disk.ts). An upload's
 * canonical re-write is written into the disk file, then the agent extracts it from the
 * disk; an export is written to the disk by the agent, then copied out of the file here.
 * The disk file is truncated after every transfer, so it holds host disk space only while
 * one is in flight.
 *
 * Every function returns null when the disk cannot be used (no disk, another transfer holds
 * it, an agent without the disk operations, an archive the disk path does not cover): the
 * caller then moves the archive through the agent's channel as before.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { finished } from "node:stream/promises";

import { PyroError } from "../errors.js";
import { isSameProcess, readProcStat } from "../process/process-group.js";
import type { RuntimeRecord, WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { transferDiskOf } from "./sandbox.js";

/** Above this, the destination checks travel as the agent's own validation instead. */
const MAX_CHECKS_JSON_BYTES = 4 * 1024 * 1024;
/** Copy-out chunk of an export. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

interface Disk {
  disk: string;
  lock: string;
}

/**
 * Sends `file` (validated again here, as its canonical re-write) through the transfer disk
 * and has the agent extract it at `destination`; null if the caller must use the channel.
 */
export async function importViaDisk(
  context: ManagerContext,
  record: WorkspaceRecord,
  file: string,
  destination: string,
  options: {
    fresh: boolean;
    /** Keep the archive's root member (a reset restoring /workspace's own metadata). */
    keepRoot: boolean;
    /** Called with the disk file and the archive's length once the agent extracted it. */
    afterImport?: (diskFile: string, bytes: number) => Promise<void>;
    /** Quota limits checked while the canonical copy is written (writeCanonicalArchive). */
    limits?: { maxEntries: number; maxTotalBytes: number };
  },
): Promise<{ entry_count: number; bytes_written: number } | null> {
  const { fresh, keepRoot } = options;
  const runtime = record.runtime;
  const disk = transferDiskOf(context, record);
  if (!runtime || !disk) return null;
  return withDiskLock(context, runtime, disk, async () => {
    const { writeCanonicalArchive } = await import("../archive/index.js");
    const out = createWriteStream(disk.disk, { flags: "r+", start: 0 });
    const written = finished(out);
    written.catch(() => undefined);
    let inspection;
    try {
      inspection = await writeCanonicalArchive(file, out, { keepRoot, ...options.limits });
      await written;
    } finally {
      out.destroy();
    }
    // Repeated paths need the agent's own extractor (last member wins): the channel path.
    if (inspection.replacesMembers) return null;
    const checks = fresh ? {} : inspection.destinationChecks;
    if (JSON.stringify(checks).length > MAX_CHECKS_JSON_BYTES) return null;
    const body = { destination, bytes: out.bytesWritten, fresh, ...checks };
    try {
      await context.pool.call(runtime, "archive.import_disk", body);
    } catch (error) {
      if (mustUseChannel(error)) return null;
      throw error;
    }
    await options.afterImport?.(disk.disk, out.bytesWritten);
    return {
      entry_count: inspection.summary.entryCount,
      bytes_written: inspection.summary.totalBytes,
    };
  });
}

type DiskExport = {
  artifact_type: "file" | "directory" | "symlink";
  entry_count: number;
  size_bytes: number;
};

/**
 * Has the agent write the tar of `guestPath` to the transfer disk, then copies it into
 * `handle` (at most `maxBytes`, else `onLimit()` is thrown); null if the caller must use
 * the channel.
 */
export async function exportViaDisk(
  context: ManagerContext,
  record: WorkspaceRecord,
  guestPath: string,
  handle: fs.FileHandle,
  quota?: { maxBytes: number; onLimit: () => Error },
): Promise<DiskExport | null> {
  return exportOnDisk(context, record, guestPath, async (disk, result) => {
    if (quota && result.size_bytes > quota.maxBytes) throw quota.onLimit();
    await copyOut(disk, result.size_bytes, handle);
    return result;
  });
}

/**
 * Has the agent write the tar of `guestPath` to the transfer disk and runs `use` on the
 * disk file while the transfer still holds it (the tar starts at offset 0; the untrusted
 * archive ends at its end-of-archive blocks, zeros follow). A caller that only extracts the
 * archive reads it there instead of copying it out first: one less write of the whole
 * archive on the host. Null if the caller must use the channel.
 */
export async function exportOnDisk<T>(
  context: ManagerContext,
  record: WorkspaceRecord,
  guestPath: string,
  use: (disk: string, result: DiskExport) => Promise<T>,
): Promise<T | null> {
  const runtime = record.runtime;
  const disk = transferDiskOf(context, record);
  if (!runtime || !disk) return null;
  return withDiskLock(context, runtime, disk, async () => {
    let result: DiskExport;
    try {
      result = await context.pool.call(runtime, "archive.export_disk", { path: guestPath });
    } catch (error) {
      if (mustUseChannel(error)) return null;
      throw error;
    }
    return use(disk.disk, result);
  });
}

/** Copies the first `bytes` of the disk file into `handle`. */
async function copyOut(disk: string, bytes: number, handle: fs.FileHandle): Promise<void> {
  const source = await fs.open(disk, "r");
  try {
    const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    let offset = 0;
    while (offset < bytes) {
      const want = Math.min(COPY_CHUNK_BYTES, bytes - offset);
      const { bytesRead } = await source.read(buffer, 0, want, offset);
      if (bytesRead === 0) {
        throw new PyroError("internal", `the transfer disk ended at ${offset} of ${bytes} bytes`);
      }
      await handle.write(buffer, 0, bytesRead);
      offset += bytesRead;
    }
  } finally {
    await source.close();
  }
}

/**
 * Runs `use` holding the disk's lock file, or returns null at once when a live process
 * holds it (that transfer's caller uses the channel: no waiting, no deadlock). A lock whose
 * holder died is taken over; the guest may still be reading or writing that holder's
 * transfer, so an empty import asks the agent first, and a busy one leaves the disk alone.
 * Afterwards the disk file is emptied (truncated and grown back: sparse again).
 */
async function withDiskLock<T>(
  context: ManagerContext,
  runtime: RuntimeRecord,
  disk: Disk,
  use: () => Promise<T | null>,
): Promise<T | null> {
  if (!(await takeLock(disk.lock))) return null;
  let idle = false;
  try {
    await context.pool.call(runtime, "archive.import_disk", { bytes: 0, fresh: false });
    idle = true;
    return await use();
  } catch (error) {
    if (mustUseChannel(error)) return null;
    throw error;
  } finally {
    if (idle) await emptyDisk(disk.disk);
    await fs.rm(disk.lock, { force: true });
  }
}

async function emptyDisk(file: string): Promise<void> {
  try {
    const { size } = await fs.stat(file);
    await fs.truncate(file, 0);
    await fs.truncate(file, size);
  } catch {
    // the sandbox (and its runtime directory) went away meanwhile
  }
}

async function takeLock(lock: string): Promise<boolean> {
  const mine = JSON.stringify({
    pid: process.pid,
    start_ticks: readProcStat(process.pid)?.startTicks ?? null,
  });
  // Written whole beside the lock, then linked to its name (atomic, fails if it exists): a
  // holder killed at any point never leaves a lock without its owner inside, which a waiter
  // could not judge. The temp name carries its writer, so one killed before removing it
  // leaves nothing for long: the next taker removes it.
  await removeDeadWritersTemps(lock);
  const ticks = readProcStat(process.pid)?.startTicks ?? 0;
  const temp = `${lock}.${process.pid}-${ticks}-${randomBytes(6).toString("hex")}`;
  await fs.writeFile(temp, mine, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await fs.link(temp, lock);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") return false;
      }
      if (await holderAlive(lock)) return false;
      // Its holder died mid-transfer: the disk is free.
      await fs.rm(lock, { force: true });
    }
    return false;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** Removes `<lock>.<pid>-<start ticks>-<random>` temps whose writer is gone. */
async function removeDeadWritersTemps(lock: string): Promise<void> {
  const prefix = `${path.basename(lock)}.`;
  const names = await fs.readdir(path.dirname(lock)).catch(() => [] as string[]);
  for (const name of names) {
    const match = /^(\d+)-(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (!name.startsWith(prefix) || !match) continue;
    if (isSameProcess(Number(match[1]), Number(match[2]) || null)) continue;
    await fs.rm(path.join(path.dirname(lock), name), { force: true });
  }
}

/** Above this age a lock without a readable owner is a leftover, not one being written. */
const UNREADABLE_LOCK_STALE_MS = 10_000;

async function holderAlive(lock: string): Promise<boolean> {
  const text = await fs.readFile(lock, "utf8").catch(() => null);
  if (text === null) return false;
  try {
    const holder = JSON.parse(text) as { pid?: unknown; start_ticks?: unknown };
    if (typeof holder.pid !== "number") return false;
    const ticks = typeof holder.start_ticks === "number" ? holder.start_ticks : null;
    return isSameProcess(holder.pid, ticks);
  } catch {
    // Empty or damaged (an older pyro wrote the owner after creating the file): held while
    // it is young, since the channel is always safe; a leftover once it is old.
    const stats = await fs.stat(lock).catch(() => null);
    return stats !== null && Date.now() - stats.mtimeMs < UNREADABLE_LOCK_STALE_MS;
  }
}

/**
 * An agent that predates the disk operations or runs without the disk, or one still busy
 * with the transfer of a host process that died holding the lock (the guest finishes it
 * meanwhile): the channel serves this transfer.
 */
function mustUseChannel(error: unknown): boolean {
  if (!(error instanceof PyroError)) return false;
  if (error.code === "busy") return true;
  return error.code === "protocol_error" && error.message.startsWith("unknown agent operation");
}
