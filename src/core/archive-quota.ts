import fs from "node:fs/promises";
import path from "node:path";

import { PyroError } from "../errors.js";
import type { ArchiveSummary } from "../archive/index.js";
import { QUOTAS, quotaError, quotaValue } from "./quotas.js";

/**
 * The archive quotas (expanded bytes, members) for seed and sync push sources. An archive is
 * checked while it is read, before a byte of it is extracted anywhere, so a gzip bomb costs
 * only the time to read it; a directory is measured before it is packed into staging.
 */
export async function validateWithinQuota(file: string, field: string): Promise<ArchiveSummary> {
  const limits = archiveQuotaLimits();
  try {
    const { validateArchive } = await import("../archive/index.js"); // loaded on first use
    return await validateArchive(file, limits);
  } catch (error) {
    throw asQuotaError(error, field, limits);
  }
}

/** The archive quotas, as the validator's limits (for a pass that also does other work). */
export function archiveQuotaLimits(): { maxTotalBytes: number; maxEntries: number } {
  return {
    maxTotalBytes: quotaValue(QUOTAS.archiveBytes),
    maxEntries: quotaValue(QUOTAS.archiveEntries),
  };
}

/**
 * A validator's failure under archiveQuotaLimits(): the validator names its own option; the
 * caller needs the quota and how to raise it. Any other failure is returned as it is.
 */
export function asQuotaError(
  error: unknown,
  field: string,
  limits: { maxTotalBytes: number; maxEntries: number },
): unknown {
  const limit = error instanceof PyroError ? error.details.limit : undefined;
  if (limit === "maxTotalBytes") return tooManyBytes(field, limits.maxTotalBytes);
  if (limit === "maxEntries") return tooManyEntries(field, limits.maxEntries);
  return error;
}

/** How many file sizes are asked for at once while a directory is measured. */
const LSTAT_BATCH = 64;

/**
 * Walks a source directory (without following symlinks) and refuses it as soon as it is
 * over a quota: packing it first would copy all of it into staging to find out. Directories
 * are read as streams (a hostile one with millions of names is refused at the quota, not
 * loaded whole), and file sizes are asked for in batches: one lstat awaited at a time took
 * 420-500 ms for 10,000 files here, most of a small-file push's host side; batched, 100-150.
 */
export async function checkDirectoryWithinQuota(dir: string, field: string): Promise<void> {
  const maxTotalBytes = quotaValue(QUOTAS.archiveBytes);
  const maxEntries = quotaValue(QUOTAS.archiveEntries);
  let bytes = 0;
  let entries = 1; // the root
  let files: string[] = [];
  const measure = async (): Promise<void> => {
    const sizes = await Promise.all(
      files.map((file) =>
        fs.lstat(file).then(
          (stat) => stat.size,
          () => 0,
        ),
      ),
    );
    files = [];
    for (const size of sizes) bytes += size;
    if (bytes > maxTotalBytes) throw tooManyBytes(field, maxTotalBytes);
  };
  const pending = [dir];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    // An unreadable directory fails the packing later, with tar's own message.
    const listing = await fs.opendir(current).catch(() => null);
    if (!listing) continue;
    for await (const entry of listing) {
      entries += 1;
      if (entries > maxEntries) throw tooManyEntries(field, maxEntries);
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) {
        files.push(full);
        if (files.length === LSTAT_BATCH) await measure();
      }
    }
  }
  await measure();
}

function tooManyBytes(field: string, max: number): PyroError {
  return quotaError(
    QUOTAS.archiveBytes,
    max,
    `${field} holds more than ${max} bytes of file data once expanded`,
    null,
    { field },
  );
}

function tooManyEntries(field: string, max: number): PyroError {
  return quotaError(QUOTAS.archiveEntries, max, `${field} holds more than ${max} members`, null, {
    field,
  });
}
