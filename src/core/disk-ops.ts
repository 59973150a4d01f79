/**
 * workspace_disk_export, workspace_disk_list and workspace_disk_read: a stopped
 * guest-backed workspace's disk, read without booting it (disk-image.ts). Each call holds
 * the workspace's lock, so no start or reset boots on the disk meanwhile, works on a
 * private raw copy in the workspace's staging directory, and never writes the disk itself.
 */
import fs from "node:fs/promises";
import path from "node:path";

import { PyroError, StateError, ValidationError } from "../errors.js";
import { requireTools } from "../environments/host-tools.js";
import { FILE_LIMITS, formatMode } from "../shared/file-limits.js";
import { normalizeGuestPath } from "../shared/guest-paths.js";
import { checkHostPath } from "../shared/limits.js";
import { tempSibling } from "../store/atomic.js";
import type { WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import {
  Ext4Image,
  convertToRaw,
  entryType,
  replayJournal,
  scrubRuntimePaths,
  type ImageEntry,
} from "./disk-image.js";
import { checkMaxBytes, encodeContent } from "./file-ops.js";
import { loadWorkspace, withWorkspaceLock } from "./records-io.js";
import { backendOf, rootDiskOf, volumeDiskOf } from "./sandbox.js";
import { usesVolume } from "./volume-snapshots.js";
import { graftVolume } from "./disk-graft.js";
import { isExpired } from "./workspace-expiry.js";
import { refreshWorkspace } from "./workspace-ops.js";

type Disk = { path: string; format: "qcow2" | "raw" };

/**
 * Runs `use` on the disk of a workspace that is not running, under its lock. Refused: a
 * host-backend workspace (its /workspace is a host directory), a running one, one being
 * reset, one whose disk is gone.
 */
async function withStoppedDisk<T>(
  context: ManagerContext,
  id: string,
  operation: string,
  use: (disk: Disk, record: WorkspaceRecord) => Promise<T>,
): Promise<T> {
  const first = await loadWorkspace(context.layout, id);
  // Past its deadline (idle or hard) the workspace goes, as any call finds it (refresh
  // deletes and throws).
  if (await isExpired(context, first)) await refreshWorkspace(context, id);
  if (typeof backendOf(context, first).rootDisk !== "function") {
    throw new StateError(
      `${operation} reads the disk of a stopped guest-backed workspace; workspace '${first.workspace_id}' runs on the '${first.backend}' backend, whose /workspace is a host directory (use workspace_file_list, workspace_file_read or workspace_export)`,
      { workspace_id: first.workspace_id, backend: first.backend },
    );
  }
  // Not refreshWorkspace: a guest found dead would have its runtime directory, and the
  // disk in it, removed first. The lock keeps a start or reset off the disk meanwhile.
  return withWorkspaceLock(context.layout, first.workspace_id, async () => {
    const record = await loadWorkspace(context.layout, first.workspace_id);
    const running =
      record.state === "resetting" ||
      record.state === "stopping" ||
      record.state === "starting" ||
      (record.runtime !== null && backendOf(context, record).isAlive(record.runtime));
    if (running) {
      throw new StateError(
        `workspace '${record.workspace_id}' must be stopped before ${operation}; it is '${record.state}' (its guest is running: stop it first)`,
        { workspace_id: record.workspace_id, state: record.state },
      );
    }
    // /workspace on its own volume: every path these operations take is under it.
    const disk = usesVolume(record) ? volumeDiskOf(context, record) : rootDiskOf(context, record);
    if (!disk) throw noDisk(record);
    return use(disk, record);
  });
}

function noDisk(record: WorkspaceRecord): Error {
  return new StateError(
    `workspace '${record.workspace_id}' has no guest disk to read (it was removed when its guest ended); reset the workspace to restore /workspace from a snapshot`,
    { workspace_id: record.workspace_id, state: record.state },
  );
}

async function graftInto(
  context: ManagerContext,
  record: WorkspaceRecord,
  volume: Disk,
  image: Ext4Image,
  tools: Record<string, string>,
): Promise<void> {
  await replayJournal(tools.e2fsck as string, image.image);
  await withRawCopy(context, record, volume, (copy) =>
    graftVolume(copy, image, tempSibling(path.join(path.dirname(copy.image), "graft"))),
  );
}

/** A private raw copy of the disk, journal replayed, removed afterwards. */
async function withRawCopy<T>(
  context: ManagerContext,
  record: WorkspaceRecord,
  disk: Disk,
  use: (image: Ext4Image, tools: Record<string, string>) => Promise<T>,
): Promise<T> {
  const tools = requireTools(["qemu-img", "debugfs", "e2fsck"], "reading a stopped guest's disk");
  const staging = path.join(context.layout.workspaceDir(record.workspace_id), "staging");
  await fs.mkdir(staging, { recursive: true });
  const copy = tempSibling(path.join(staging, "disk.raw"));
  try {
    await convertToRaw(tools["qemu-img"] as string, disk, copy);
    await replayJournal(tools.e2fsck as string, copy);
    return await use(new Ext4Image(tools.debugfs as string, copy), tools);
  } finally {
    await fs.rm(copy, { force: true });
  }
}

/** Where the disk read is mounted in the guest: a volume's root is /workspace. */
function mountPointOf(record: WorkspaceRecord): string {
  return usesVolume(record) ? "/workspace" : "/";
}

function checkGuestPath(raw: string | undefined): string {
  return normalizeGuestPath(raw ?? "/workspace", "path");
}

export async function listWorkspaceDisk(
  context: ManagerContext,
  id: string,
  input: { path?: string; recursive?: boolean },
) {
  const guestPath = checkGuestPath(input.path);
  const recursive = input.recursive === true;
  return withStoppedDisk(context, id, "workspace_disk_list", (disk, record) =>
    withRawCopy(context, record, disk, async (image) => {
      const target = await image.resolve(guestPath, "path", mountPointOf(record));
      const found: Array<{ path: string; entry: ImageEntry }> = [];
      let truncated = false;
      if (entryType(target.mode) !== "directory") {
        found.push({ path: guestPath, entry: target });
      } else {
        // Breadth first, one debugfs run per depth; sorted by path at the end.
        let level = [{ path: guestPath, entry: target }];
        while (level.length > 0 && !truncated) {
          const listed = await image.listMany(level.map((item) => item.entry.inode));
          const next: typeof level = [];
          for (const parent of level) {
            const children = (listed.get(parent.entry.inode) ?? []).sort((a, b) =>
              a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
            );
            for (const child of children) {
              if (found.length >= FILE_LIMITS.listEntries) {
                truncated = true;
                break;
              }
              const item = { path: `${parent.path}/${child.name}`, entry: child };
              found.push(item);
              if (recursive && entryType(child.mode) === "directory") next.push(item);
            }
            if (truncated) break;
          }
          level = next;
        }
        found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      }
      const stats = await image.stat(found.map((item) => item.entry.inode));
      const entries = [];
      for (const { path: entryPath, entry } of found) {
        const stat = stats.get(entry.inode);
        const type = entryType(entry.mode);
        let linkTarget: string | null = null;
        if (type === "symlink") {
          linkTarget = stat?.fastLink ?? (await image.read(entry.inode, 4096)).toString("utf8");
        }
        entries.push({
          path: entryPath,
          type,
          size_bytes: entry.size,
          mode: formatMode(entry.mode),
          mtime: stat?.mtime ?? 0,
          link_target: linkTarget,
        });
      }
      return {
        workspace_id: record.workspace_id,
        path: guestPath,
        recursive,
        count: entries.length,
        entries,
        truncated,
      };
    }),
  );
}

export async function readWorkspaceDisk(
  context: ManagerContext,
  id: string,
  input: { path: string; max_bytes?: number },
) {
  const guestPath = checkGuestPath(input.path);
  const maxBytes = checkMaxBytes(input.max_bytes);
  return withStoppedDisk(context, id, "workspace_disk_read", (disk, record) =>
    withRawCopy(context, record, disk, async (image) => {
      const entry = await image.resolve(guestPath, "path", mountPointOf(record));
      const type = entryType(entry.mode);
      if (type !== "file") {
        const what =
          type === "symlink"
            ? "a symlink (symlinks are never followed)"
            : type === "directory"
              ? "a directory"
              : "not a regular file";
        throw new ValidationError(`path must be a regular file: '${guestPath}' is ${what}`, {
          field: "path",
          value: guestPath,
        });
      }
      const bytes = maxBytes === 0 ? Buffer.alloc(0) : await image.read(entry.inode, maxBytes);
      const stat = (await image.stat([entry.inode])).get(entry.inode);
      return {
        workspace_id: record.workspace_id,
        path: guestPath,
        size_bytes: entry.size,
        max_bytes: maxBytes,
        mode: formatMode(entry.mode),
        mtime: stat?.mtime ?? 0,
        ...encodeContent(bytes, bytes.length < entry.size),
      };
    }),
  );
}

export async function exportWorkspaceDisk(
  context: ManagerContext,
  id: string,
  input: { output_path: string },
) {
  checkHostPath("output_path", input.output_path);
  const outputPath = path.resolve(input.output_path);
  if (await fs.lstat(outputPath).catch(() => null)) {
    throw new PyroError("already_exists", `output_path already exists: '${outputPath}'`, {
      field: "output_path",
    });
  }
  return withStoppedDisk(context, id, "workspace_disk_export", async (disk, record) => {
    const tools = requireTools(
      ["qemu-img", "debugfs", "e2fsck"],
      "exporting a stopped guest's disk",
    );
    const temp = tempSibling(outputPath);
    try {
      const root = usesVolume(record) ? rootDiskOf(context, record) : disk;
      if (!root) throw noDisk(record);
      await convertToRaw(tools["qemu-img"] as string, root, temp);
      const image = new Ext4Image(tools.debugfs as string, temp);
      // A volume's tree goes into the image's /workspace: the image holds what the guest saw.
      if (root !== disk) await graftInto(context, record, disk, image, tools);
      const scrubbed = await scrubRuntimePaths(image, tools.e2fsck as string);
      // link, not rename: an output_path made meanwhile is never replaced.
      await fs.link(temp, outputPath).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "EEXIST") {
          throw new PyroError("already_exists", `output_path already exists: '${outputPath}'`, {
            field: "output_path",
          });
        }
        throw error;
      });
      const size = (await fs.stat(outputPath)).size;
      return {
        workspace_id: record.workspace_id,
        output_path: outputPath,
        format: "raw" as const,
        size_bytes: size,
        scrubbed_paths: scrubbed,
      };
    } finally {
      await fs.rm(temp, { force: true });
    }
  });
}
