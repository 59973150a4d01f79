/**
 * An archive into a running sandbox: through the transfer disk where a guest has one, else
 * through the agent's channel; validated on the host in one pass (see importArchive).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { createGzip } from "node:zlib";
import fs from "node:fs/promises";
import path from "node:path";

import { PyroError } from "../errors.js";
import { tempSibling, commitTemp } from "../store/atomic.js";
import type { WorkspaceRecord } from "../store/records.js";
import type { ArchiveSummary } from "../archive/index.js";
import { archiveQuotaLimits, asQuotaError, validateWithinQuota } from "./archive-quota.js";
import type { ManagerContext } from "./context.js";
import { backendOf } from "./sandbox.js";
import { importViaDisk } from "./transfer-disk.js";

/** node-tar is loaded on first use (see workspace-create.ts). */
const archives = () => import("../archive/index.js");

/**
 * Sends a tar the host has validated to the agent, which extracts it at `destination`.
 * The archive's root member (its `./`) is applied to `destination` only with
 * `restoreRoot` (a reset restoring /workspace's own mode and mtime): a push or a seed
 * never changes the metadata of the directory it lands in.
 * Across a guest backend's port it travels gzip'd. With `fresh` (create and reset: the
 * destination is the new sandbox's empty /workspace) a real guest trusts the host's
 * validation instead of repeating it in emulated JavaScript; the host backend's agent,
 * which writes to the host's filesystem, always validates again.
 * With `quotaField` (an upload of the caller's) the archive quotas are enforced, in the
 * pass that writes the canonical copy where one is sent (one parse of the archive on the
 * host), else in a validating pass of their own; the counts are then always returned.
 */
export async function importArchive(
  context: ManagerContext,
  record: WorkspaceRecord,
  file: string,
  destination: string,
  options: ImportOptions,
): Promise<{ entry_count?: number; bytes_written?: number }> {
  if (!record.runtime) throw new PyroError("internal", "importArchive needs a running sandbox");
  const restoreRoot = options.restoreRoot === true;
  const field = options.quotaField;
  const limits = field !== undefined ? archiveQuotaLimits() : undefined;
  const inQuota = async <T>(work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } catch (error) {
      throw field !== undefined && limits ? asQuotaError(error, field, limits) : error;
    }
  };
  // A guest with a transfer disk takes the archive there, uncompressed (transfer-disk.ts);
  // create's kept copy is then the canonical archive as written to the disk.
  const keepCopy = options.keepCopy;
  const viaDisk = await inQuota(
    importViaDisk(context, record, file, destination, {
      fresh: options.fresh,
      keepRoot: restoreRoot,
      limits,
      afterImport: keepCopy ? (diskFile, bytes) => keepRange(diskFile, bytes, keepCopy) : undefined,
    }),
  );
  if (viaDisk) return viaDisk;
  // A fresh import is extracted by the guest's GNU tar without a second validation: send
  // the canonical re-write of the members validated here, never the original headers.
  // (After a disk attempt that fell back to the channel, rare, the archive is parsed again.)
  let checked: Promise<ArchiveSummary> | undefined;
  let source: Readable;
  if (options.fresh) {
    const canonical = (await archives()).canonicalArchive(file, {
      keepRoot: restoreRoot,
      ...limits,
    });
    source = canonical.stream;
    checked = canonical.summary;
  } else {
    // The agent validates what it extracts; the quotas are the host's to check.
    if (field !== undefined) checked = Promise.resolve(await validateWithinQuota(file, field));
    source = createReadStream(file);
  }
  // The exact archive sent, kept (create's baseline: what /workspace now holds, without
  // reading the tree back). Committed only once the import succeeded.
  const copy = options.keepCopy ? await keepCopyOf(source, options.keepCopy) : null;
  if (copy) source = copy.forward;
  let upload: Readable = source;
  if (backendOf(context, record).compressesTransfers) {
    const gzip = createGzip({ level: 1 });
    source.once("error", (error) => gzip.destroy(error));
    upload = source.pipe(gzip);
  }
  try {
    let imported;
    try {
      imported = await context.pool.call(
        record.runtime,
        "archive.import",
        { destination, host_validated: options.fresh, restore_root: restoreRoot },
        { upload },
      );
    } catch (error) {
      // A refusal of the validating pass cut the upload short: that refusal is the answer.
      if (checked) await inQuota(checked);
      throw error;
    }
    const summary = checked ? await inQuota(checked) : undefined;
    await copy?.commit();
    return {
      entry_count: imported.entry_count ?? summary?.entryCount,
      bytes_written: imported.bytes_written ?? summary?.totalBytes,
    };
  } finally {
    await copy?.discard();
  }
}

interface ImportOptions {
  fresh: boolean;
  restoreRoot?: boolean;
  keepCopy?: string;
  /** The input field of an upload of the caller's: enforce the archive quotas, naming it. */
  quotaField?: string;
}

/** Keeps the first `bytes` of `file` (the archive on the transfer disk) at `target`. */
async function keepRange(file: string, bytes: number, target: string): Promise<void> {
  const copy = await keepCopyOf(createReadStream(file, { start: 0, end: bytes - 1 }), target);
  try {
    copy.forward.resume();
    await copy.commit();
  } finally {
    await copy.discard();
  }
}

/**
 * Writes what `source` streams to a temp file beside `target` as it is read through
 * `forward` (both paced by the slower); commit() renames the file into place.
 */
async function keepCopyOf(
  source: Readable,
  target: string,
): Promise<{ forward: Readable; commit: () => Promise<void>; discard: () => Promise<void> }> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = tempSibling(target);
  const out = createWriteStream(temp, { flags: "wx", mode: 0o600 });
  const written = finished(out);
  written.catch(() => undefined);
  const forward = new PassThrough();
  source.once("error", (error) => {
    out.destroy(error);
    forward.destroy(error);
  });
  source.pipe(out);
  source.pipe(forward);
  let committed = false;
  return {
    forward,
    commit: async () => {
      await written;
      const handle = await fs.open(temp, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await commitTemp(temp, target);
      committed = true;
    },
    discard: async () => {
      if (committed) return;
      out.destroy();
      await fs.rm(temp, { force: true });
    },
  };
}
