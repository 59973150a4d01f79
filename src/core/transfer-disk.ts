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
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import { finished } from "node:stream/promises";

import { PyroError } from "../errors.js";
import { tryLock } from "../store/lock.js";
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
    /** Limits the validating pass enforces (an upload's quotas). */
    limits?: { maxTotalBytes: number; maxEntries: number };
    /** Called with the disk file and the archive's length once the agent extracted it. */
    afterImport?: (diskFile: string, bytes: number) => Promise<void>;
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
 * Runs `use` holding the disk's lock (src/store/lock.ts), or returns null at once when a
 * live process holds it (that transfer's caller uses the channel: no waiting, no deadlock). A lock whose
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
  // Non-blocking: a transfer that finds the disk busy uses the channel instead of waiting.
  const release = await tryLock(disk.lock);
  if (!release) return null;
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
    await release();
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
