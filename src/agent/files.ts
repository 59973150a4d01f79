/**
 * `file.list`, `file.read`, `file.write` and `patch.apply`: single files under /workspace,
 * for workspace_file_* and workspace_patch_apply. They run where the files are (the host
 * backend's agent on the host, the guest's agent in a VM), and never follow a symlink on
 * a path (file-io.ts, no-follow.ts).
 */
import { closeSync, readdirSync } from "node:fs";
import type { BigIntStats } from "node:fs";

import { NotFoundError, ValidationError } from "../errors.js";
import { fdPath, openDirectoryAt, readlinkAt } from "../no-follow.js";
import { FILE_LIMITS, OCTAL_MODE, formatMode } from "../shared/file-limits.js";
import type { AgentContext } from "./context.js";
import { numberField, stringField } from "./context.js";
import {
  commitStaged,
  describeKind,
  lstatEntry,
  openParent,
  readRegularFile,
  stageFile,
  syncDirectory,
} from "./file-io.js";
import { applyPatchText } from "./patch.js";

export function registerFileHandlers(context: AgentContext): void {
  const { handlers, paths } = context;

  handlers.set("file.list", async ({ body }) => {
    const raw = stringField(body, "path") ?? "/workspace";
    const limit = boundedInt(body, "max_entries", FILE_LIMITS.listEntries, 1, 100_000);
    return listPath(context, raw, body.recursive === true, limit);
  });

  handlers.set("file.read", async ({ body }) => {
    const raw = requiredString(body, "path");
    const maxBytes = boundedInt(
      body,
      "max_bytes",
      FILE_LIMITS.readDefaultBytes,
      0,
      FILE_LIMITS.readMaxBytes,
    );
    const opened = openParent(paths, raw, "path");
    try {
      const { content, size, stats } = readRegularFile(opened, "path", maxBytes);
      return {
        path: opened.guest,
        size,
        content_base64: content.toString("base64"),
        truncated: content.length < size,
        mode: formatMode(Number(stats.mode)),
        mtime: mtimeSeconds(stats),
      };
    } finally {
      closeSync(opened.dirFd);
    }
  });

  handlers.set("file.write", async ({ body }) => {
    const raw = requiredString(body, "path");
    const encoded = requiredString(body, "content_base64");
    const content = Buffer.from(encoded, "base64");
    if (content.length > FILE_LIMITS.writeMaxBytes) {
      throw new ValidationError(
        `content must be at most ${FILE_LIMITS.writeMaxBytes} bytes, got ${content.length}`,
        { field: "content", max: FILE_LIMITS.writeMaxBytes },
      );
    }
    const modeText = stringField(body, "mode");
    if (modeText !== undefined && !OCTAL_MODE.test(modeText)) {
      throw new ValidationError(`mode must be 3 or 4 octal digits like 0644, got '${modeText}'`, {
        field: "mode",
        value: modeText,
      });
    }
    const opened = openParent(paths, raw, "path", { create: true });
    try {
      const existing = lstatEntry(opened.dirFd, opened.name);
      if (existing && !existing.isFile()) {
        throw new ValidationError(
          `path must be a regular file or not exist yet: '${opened.guest}' is ${describeKind(existing)}`,
          { field: "path", value: opened.guest },
        );
      }
      const mode =
        modeText !== undefined
          ? Number.parseInt(modeText, 8)
          : existing
            ? Number(existing.mode) & 0o7777
            : 0o644;
      const temp = stageFile(opened.dirFd, content, mode);
      commitStaged(opened.dirFd, temp, opened.name);
      syncDirectory(opened.dirFd);
      return {
        path: opened.guest,
        size: content.length,
        mode: formatMode(mode),
        created: existing === null,
      };
    } finally {
      closeSync(opened.dirFd);
    }
  });

  handlers.set("patch.apply", async ({ body }) =>
    applyPatchText(paths, requiredString(body, "patch")),
  );
}

interface ListedEntry {
  path: string;
  type: "file" | "directory" | "symlink" | "other";
  size: number;
  mode: string;
  mtime: number;
  link_target?: string;
}

/**
 * Lists a directory (its entries, sorted; with `recursive`, depth first) or describes one
 * file, symlink or other entry. At most `limit` entries; `truncated` says more exist.
 */
function listPath(context: AgentContext, raw: string, recursive: boolean, limit: number) {
  const { paths } = context;
  const target = paths.resolve(raw, "path");
  const entries: ListedEntry[] = [];
  let truncated = false;
  const visit = (dirFd: number, guestDir: string): void => {
    const names = readdirSync(fdPath(dirFd)).sort();
    for (const name of names) {
      if (entries.length >= limit) {
        truncated = true;
        return;
      }
      const stats = lstatEntry(dirFd, name);
      if (!stats) continue; // removed meanwhile
      const guest = `${guestDir}/${name}`;
      entries.push(describe(dirFd, name, guest, stats));
      if (recursive && stats.isDirectory()) {
        let childFd: number;
        try {
          childFd = openDirectoryAt(dirFd, name);
        } catch {
          continue; // swapped for something else meanwhile: not followed
        }
        try {
          visit(childFd, guest);
        } finally {
          closeSync(childFd);
        }
        if (truncated) return;
      }
    }
  };
  if (target.relative === "") {
    const rootFd = paths.openDirectory(target, "path");
    try {
      visit(rootFd, target.guest);
    } finally {
      closeSync(rootFd);
    }
    return { path: target.guest, entries, truncated };
  }
  const opened = openParent(paths, raw, "path");
  try {
    const stats = lstatEntry(opened.dirFd, opened.name);
    if (!stats) {
      throw new NotFoundError(`path does not exist: '${target.guest}'`, {
        field: "path",
        value: target.guest,
      });
    }
    if (!stats.isDirectory()) {
      entries.push(describe(opened.dirFd, opened.name, target.guest, stats));
      return { path: target.guest, entries, truncated };
    }
    const dirFd = openDirectoryAt(opened.dirFd, opened.name);
    try {
      visit(dirFd, target.guest);
    } finally {
      closeSync(dirFd);
    }
    return { path: target.guest, entries, truncated };
  } finally {
    closeSync(opened.dirFd);
  }
}

function describe(dirFd: number, name: string, guest: string, stats: BigIntStats): ListedEntry {
  const entry: ListedEntry = {
    path: guest,
    type: stats.isFile()
      ? "file"
      : stats.isDirectory()
        ? "directory"
        : stats.isSymbolicLink()
          ? "symlink"
          : "other",
    size: Number(stats.size),
    mode: formatMode(Number(stats.mode)),
    mtime: mtimeSeconds(stats),
  };
  if (stats.isSymbolicLink()) {
    // readlink never follows the link it reads; null when it was replaced meanwhile.
    const target = readlinkAt(dirFd, name);
    if (target !== null) entry.link_target = target;
  }
  return entry;
}

function mtimeSeconds(stats: BigIntStats): number {
  return Number(stats.mtimeNs / 1_000_000n) / 1000;
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = stringField(body, field);
  if (value === undefined) {
    throw new ValidationError(`${field} is required`, { field });
  }
  return value;
}

function boundedInt(
  body: Record<string, unknown>,
  field: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = numberField(body, field);
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${field} must be between ${min} and ${max}, got ${value}`, {
      field,
      value,
      min,
      max,
    });
  }
  return value;
}
