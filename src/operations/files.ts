import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { FILE_LIMITS } from "../shared/file-limits.js";
import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { intBetween, oneOf } from "./rules.js";

const fileEntry = lazy(() =>
  z.object({
    path: z.string().describe("Absolute guest path (/workspace/...)."),
    type: z.enum(["file", "directory", "symlink", "other"]),
    size_bytes: z.number().int(),
    mode: z.string().describe("Permission bits as 4 octal digits, e.g. 0644."),
    mtime: z.number().describe("Modification time, seconds since the epoch."),
    link_target: z.string().nullable().describe("A symlink's target (never followed), else null."),
  }),
);

const fileListOutput = lazy(() =>
  z.object({
    workspace_id: z.string(),
    path: z.string(),
    recursive: z.boolean(),
    count: z.number().int(),
    entries: z.array(fileEntry()),
    truncated: z
      .boolean()
      .describe(`More entries exist than the ${FILE_LIMITS.listEntries} returned.`),
  }),
);

const fileReadOutput = lazy(() =>
  z.object({
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
  }),
);

const maxBytes = lazy(() =>
  intBetween(0, FILE_LIMITS.readMaxBytes).default(FILE_LIMITS.readDefaultBytes),
);

/** The input of a listing, in a running workspace (file_list) or on a stopped disk (disk_list). */
const listInput = lazy(() =>
  z.strictObject({
    workspace_id: fields.workspace_id,
    path: z.string().describe("Under /workspace.").optional(),
    recursive: z.boolean().optional(),
  }),
);

/** The input of a read, in a running workspace (file_read) or on a stopped disk (disk_read). */
const readInput = lazy(() =>
  z.strictObject({
    workspace_id: fields.workspace_id,
    path: z.string().describe("Under /workspace."),
    max_bytes: maxBytes(),
  }),
);

const renderList = (result: z.output<ReturnType<typeof fileListOutput>>): string => {
  const lines = result.entries.map(
    (entry) =>
      `${entry.mode} ${entry.type.padEnd(9)} ${String(entry.size_bytes).padStart(10)}  ${entry.path}` +
      (entry.link_target !== null ? ` -> ${entry.link_target}` : ""),
  );
  if (result.entries.length === 0) lines.push(`${result.path} is empty`);
  if (result.truncated) lines.push(`(truncated at ${result.count} entries)`);
  return lines.join("\n");
};

const renderRead = (result: z.output<ReturnType<typeof fileReadOutput>>): string => {
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
    title: "List workspace files",
    effect: "read",
    description:
      "List a directory under /workspace: path, type, size, mode, mtime (symlinks not followed).",
    input: () => listInput(),
    output: () => fileListOutput(),
    handler: (manager, { workspace_id, ...input }) =>
      manager.listWorkspaceFiles(workspace_id, input),
    render: renderList,
  }),
  defineOperation({
    name: "workspace_file_read",
    method: "readWorkspaceFile",
    title: "Read workspace file",
    effect: "read",
    description:
      "Read a file under /workspace, up to max_bytes: UTF-8 text, or base64 for binary (encoding says which).",
    input: () => readInput(),
    output: () => fileReadOutput(),
    handler: (manager, { workspace_id, ...input }) =>
      manager.readWorkspaceFile(workspace_id, input),
    render: renderRead,
  }),
  defineOperation({
    name: "workspace_file_write",
    method: "writeWorkspaceFile",
    title: "Write workspace file",
    effect: "destructive",
    idempotent: true,
    description:
      "Write a whole file under /workspace atomically (parents created; symlinks refused). text is UTF-8, or base64 with encoding base64.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        path: z.string().describe("Under /workspace."),
        text: z.string().describe("The file's new content (base64 of it with encoding 'base64')."),
        encoding: oneOf(["utf8", "base64"]).default("utf8").describe("How text is encoded."),
        mode: z
          .string()
          .describe("Permission bits such as '0755' (default: kept, 0644 new).")
          .optional(),
      }),
    output: () =>
      z.object({
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
    title: "Apply patch",
    effect: "destructive",
    description:
      "Apply a unified diff (git diff, diff -u) under /workspace, all or nothing; the error lists each failed hunk.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        patch: z.string().describe("Unified diff text."),
      }),
    output: () =>
      z.object({
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
    title: "Export stopped disk image",
    effect: "write",
    description:
      "Copy a stopped guest workspace's disk to a new host output_path as a raw ext4 image (runtime secrets scrubbed).",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        output_path: z.string().describe("Exact host path of the raw image to create."),
      }),
    output: () =>
      z.object({
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
    title: "List files on stopped disk",
    effect: "read",
    description:
      "List a directory on a stopped guest workspace's disk without booting it, like workspace_file_list.",
    input: () => listInput(),
    output: () => fileListOutput(),
    handler: (manager, { workspace_id, ...input }) =>
      manager.listWorkspaceDisk(workspace_id, input),
    render: renderList,
  }),
  defineOperation({
    name: "workspace_disk_read",
    method: "readWorkspaceDisk",
    title: "Read file on stopped disk",
    effect: "read",
    description:
      "Read a file on a stopped guest workspace's disk without booting it, like workspace_file_read.",
    input: () => readInput(),
    output: () => fileReadOutput(),
    handler: (manager, { workspace_id, ...input }) =>
      manager.readWorkspaceDisk(workspace_id, input),
    render: renderRead,
  }),
];
