import { z } from "zod";

import { FILE_LIMITS } from "../shared/file-limits.js";
import { defineOperation } from "./define.js";
import { fields } from "./fields.js";

const fileEntry = z.object({
  path: z.string().describe("Absolute guest path (/workspace/...)."),
  type: z.enum(["file", "directory", "symlink", "other"]),
  size_bytes: z.number().int(),
  mode: z.string().describe("Permission bits as 4 octal digits, e.g. 0644."),
  mtime: z.number().describe("Modification time, seconds since the epoch."),
  link_target: z.string().nullable().describe("A symlink's target (never followed), else null."),
});

const fileListOutput = z.object({
  workspace_id: z.string(),
  path: z.string(),
  recursive: z.boolean(),
  count: z.number().int(),
  entries: z.array(fileEntry),
  truncated: z
    .boolean()
    .describe(`More entries exist than the ${FILE_LIMITS.listEntries} returned.`),
});

const fileReadOutput = z.object({
  workspace_id: z.string(),
  path: z.string(),
  size_bytes: z.number().int().describe("The file's whole size."),
  max_bytes: z.number().int(),
  mode: z.string(),
  mtime: z.number(),
  content: z.string().describe("The bytes read: UTF-8 text, or base64 (see encoding)."),
  encoding: z
    .enum(["utf8", "base64"])
    .describe("utf8 when the bytes are text, base64 for binary (NUL bytes, not UTF-8)."),
  returned_bytes: z.number().int().describe("How many of the file's bytes content holds."),
  truncated: z.boolean().describe("The file is longer than max_bytes."),
});

const maxBytes = z
  .number()
  .int()
  .describe(
    `Read at most this many bytes, 0-${FILE_LIMITS.readMaxBytes} (default ${FILE_LIMITS.readDefaultBytes}).`,
  )
  .optional();

/** The input of a listing, in a running workspace (file_list) or on a stopped disk (disk_list). */
const listInput = z.strictObject({
  workspace_id: fields.workspace_id,
  path: z.string().describe("Directory or file under /workspace (default /workspace).").optional(),
  recursive: z.boolean().describe("Also list subdirectories.").optional(),
});

/** The input of a read, in a running workspace (file_read) or on a stopped disk (disk_read). */
const readInput = z.strictObject({
  workspace_id: fields.workspace_id,
  path: z.string().describe("File under /workspace."),
  max_bytes: maxBytes,
});

const renderList = (result: z.output<typeof fileListOutput>): string => {
  const lines = result.entries.map(
    (entry) =>
      `${entry.mode} ${entry.type.padEnd(9)} ${String(entry.size_bytes).padStart(10)}  ${entry.path}` +
      (entry.link_target !== null ? ` -> ${entry.link_target}` : ""),
  );
  if (result.entries.length === 0) lines.push(`${result.path} is empty`);
  if (result.truncated) lines.push(`(truncated at ${result.count} entries)`);
  return lines.join("\n");
};

const renderRead = (result: z.output<typeof fileReadOutput>): string => {
  const note = result.truncated
    ? `\n(${result.returned_bytes} of ${result.size_bytes} bytes shown; raise max_bytes to read more)`
    : "";
  return result.encoding === "utf8"
    ? `${result.content}${note}`
    : `(binary, ${result.size_bytes} bytes; base64:)\n${result.content}${note}`;
};

export const fileOperations = [
  defineOperation({
    name: "workspace_file_list",
    method: "listWorkspaceFiles",
    description: `List a directory under /workspace of a started workspace (or describe one file): each entry's path, type (file, directory, symlink, other), size_bytes, mode and mtime; symlinks are shown with their target, never followed. recursive walks subdirectories. At most ${FILE_LIMITS.listEntries} entries; truncated says there are more.`,
    input: listInput,
    output: fileListOutput,
    handler: (manager, { workspace_id, ...input }) =>
      manager.listWorkspaceFiles(workspace_id, input),
    render: renderList,
  }),
  defineOperation({
    name: "workspace_file_read",
    method: "readWorkspaceFile",
    description: `Read a regular file under /workspace of a started workspace, up to max_bytes (default ${FILE_LIMITS.readDefaultBytes}, at most ${FILE_LIMITS.readMaxBytes}). content is UTF-8 text when the file is text, base64 when it is binary (encoding says which); truncated says the file is longer. Symlinks are refused, never followed.`,
    input: readInput,
    output: fileReadOutput,
    handler: (manager, { workspace_id, ...input }) =>
      manager.readWorkspaceFile(workspace_id, input),
    render: renderRead,
  }),
  defineOperation({
    name: "workspace_file_write",
    method: "writeWorkspaceFile",
    description: `Write a whole file under /workspace of a started workspace, creating missing parent directories. text is the content (UTF-8), or base64 of it with encoding 'base64' (binary files); at most ${FILE_LIMITS.writeMaxBytes} bytes. The file is replaced atomically (a temp file renamed over it); a symlink or directory in its place is refused, never followed. mode sets the permission bits (default: kept, 0644 for a new file).`,
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      path: z.string().describe("File under /workspace."),
      text: z.string().describe("The file's new content (base64 of it with encoding 'base64')."),
      encoding: z
        .enum(["utf8", "base64"])
        .describe("How text is encoded (default utf8).")
        .optional(),
      mode: z
        .string()
        .describe("Permission bits, 3 or 4 octal digits such as '0755' (default: kept, 0644 new).")
        .optional(),
    }),
    output: z.object({
      workspace_id: z.string(),
      path: z.string(),
      size_bytes: z.number().int(),
      mode: z.string(),
      created: z.boolean().describe("The file did not exist before."),
    }),
    handler: (manager, { workspace_id, ...input }) =>
      manager.writeWorkspaceFile(workspace_id, input),
    render: (result) =>
      `${result.created ? "created" : "wrote"} ${result.path} (${result.size_bytes} bytes, mode ${result.mode})`,
  }),
  defineOperation({
    name: "workspace_patch_apply",
    method: "applyWorkspacePatch",
    description: `Apply a unified diff (as git diff or diff -u write it; a/ and b/ prefixes, new files from /dev/null and deleted files to /dev/null) to files under /workspace of a started workspace. All or nothing: every hunk of every file is checked first, and if any does not apply nothing changes and the error lists each file with what failed. Text files only, at most ${FILE_LIMITS.patchMaxBytes} bytes of patch and ${FILE_LIMITS.patchMaxFiles} files.`,
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      patch: z.string().describe("Unified diff text."),
    }),
    output: z.object({
      workspace_id: z.string(),
      changed: z.boolean(),
      summary: z.object({
        total: z.number().int(),
        added: z.number().int(),
        modified: z.number().int(),
        deleted: z.number().int(),
      }),
      entries: z.array(
        z.object({
          path: z.string(),
          status: z.enum(["added", "modified", "deleted"]),
          hunks: z.number().int(),
        }),
      ),
    }),
    handler: (manager, { workspace_id, ...input }) =>
      manager.applyWorkspacePatch(workspace_id, input),
    render: (result) => {
      const lines = result.entries.map(
        (entry) => `${entry.status.padEnd(9)} ${entry.path} (${entry.hunks} hunks)`,
      );
      const { total, added, modified, deleted } = result.summary;
      lines.push(
        `patched ${total} files: ${added} added, ${modified} modified, ${deleted} deleted`,
      );
      return lines.join("\n");
    },
  }),
  defineOperation({
    name: "workspace_disk_export",
    method: "exportWorkspaceDisk",
    description:
      "Copy a stopped guest-backed workspace's whole disk (its root filesystem with /workspace) to a host output_path that must not exist yet, as a raw ext4 image, without booting it. Runtime-only guest paths (/run/pyro-secrets, /run/pyro-shells, /run/pyro-services) are scrubbed from the copy first; the workspace's own disk is never changed. Refused for a running or host-backend workspace.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      output_path: z.string().describe("Exact host path of the raw image to create."),
    }),
    output: z.object({
      workspace_id: z.string(),
      output_path: z.string(),
      format: z.literal("raw"),
      size_bytes: z.number().int().describe("The image's size (a sparse file: less on disk)."),
      scrubbed_paths: z
        .array(z.string())
        .describe("Runtime-only paths that were on the disk and were removed from the copy."),
    }),
    handler: (manager, { workspace_id, ...input }) =>
      manager.exportWorkspaceDisk(workspace_id, input),
    render: (result) =>
      `exported the disk (raw ext4, ${result.size_bytes} bytes) to ${result.output_path}` +
      (result.scrubbed_paths.length > 0 ? `; scrubbed ${result.scrubbed_paths.join(", ")}` : ""),
  }),
  defineOperation({
    name: "workspace_disk_list",
    method: "listWorkspaceDisk",
    description: `List a directory under /workspace on a stopped guest-backed workspace's disk, without booting it: entries as workspace_file_list gives them (symlinks never followed; at most ${FILE_LIMITS.listEntries}, truncated says more). Refused for a running or host-backend workspace.`,
    input: listInput,
    output: fileListOutput,
    handler: (manager, { workspace_id, ...input }) =>
      manager.listWorkspaceDisk(workspace_id, input),
    render: renderList,
  }),
  defineOperation({
    name: "workspace_disk_read",
    method: "readWorkspaceDisk",
    description: `Read a regular file under /workspace on a stopped guest-backed workspace's disk, without booting it, up to max_bytes (default ${FILE_LIMITS.readDefaultBytes}, at most ${FILE_LIMITS.readMaxBytes}); content and encoding as workspace_file_read gives them. Refused for a running or host-backend workspace.`,
    input: readInput,
    output: fileReadOutput,
    handler: (manager, { workspace_id, ...input }) =>
      manager.readWorkspaceDisk(workspace_id, input),
    render: renderRead,
  }),
];
