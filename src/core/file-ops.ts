/**
 * workspace_file_list, workspace_file_read, workspace_file_write and workspace_patch_apply:
 * single files of a started workspace, through its agent (src/agent/files.ts, patch.ts),
 * which works where the files are and never follows a symlink. The host checks the input
 * first, so a bad value fails before anything travels, with the catalogue's wording.
 */
import { PyroError, StateError, ValidationError } from "../errors.js";
import type { AgentOp } from "../protocol/operations.js";
import { FILE_LIMITS, OCTAL_MODE } from "../shared/file-limits.js";
import { normalizeGuestPath } from "../shared/guest-paths.js";
import { checkIntRange } from "../shared/limits.js";
import type { RuntimeRecord, WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { requireStarted } from "./workspace-ops.js";

/** A started workspace whose agent serves `op` (one started by an older pyro may not). */
async function agentFor(
  context: ManagerContext,
  id: string,
  operation: string,
  op: AgentOp,
): Promise<{ record: WorkspaceRecord; runtime: RuntimeRecord }> {
  const record = await requireStarted(context, id, operation);
  const runtime = record.runtime;
  if (!runtime) throw new PyroError("internal", "a started workspace has no runtime");
  if (!(await context.pool.supports(runtime, op))) {
    throw new StateError(
      `${operation} needs a newer agent than workspace '${record.workspace_id}' runs (it was started by an older pyro); reset the workspace to boot it with this version's agent`,
      { workspace_id: record.workspace_id, op },
    );
  }
  return { record, runtime };
}

export async function listWorkspaceFiles(
  context: ManagerContext,
  id: string,
  input: { path?: string; recursive?: boolean },
) {
  const guestPath = normalizeGuestPath(input.path ?? "/workspace", "path");
  const { record, runtime } = await agentFor(context, id, "workspace_file_list", "file.list");
  const listed = await context.pool.call(runtime, "file.list", {
    path: guestPath,
    recursive: input.recursive === true,
    max_entries: FILE_LIMITS.listEntries,
  });
  return {
    workspace_id: record.workspace_id,
    path: listed.path,
    recursive: input.recursive === true,
    count: listed.entries.length,
    entries: listed.entries.map((entry) => ({
      path: entry.path,
      type: entry.type,
      size_bytes: entry.size,
      mode: entry.mode,
      mtime: entry.mtime,
      link_target: entry.link_target ?? null,
    })),
    truncated: listed.truncated,
  };
}

export function checkMaxBytes(value: number | undefined): number {
  if (value === undefined) return FILE_LIMITS.readDefaultBytes;
  return checkIntRange("max_bytes", value, 0, FILE_LIMITS.readMaxBytes);
}

export async function readWorkspaceFile(
  context: ManagerContext,
  id: string,
  input: { path: string; max_bytes?: number },
) {
  const guestPath = normalizeGuestPath(input.path, "path");
  const maxBytes = checkMaxBytes(input.max_bytes);
  const { record, runtime } = await agentFor(context, id, "workspace_file_read", "file.read");
  const read = await context.pool.call(runtime, "file.read", {
    path: guestPath,
    max_bytes: maxBytes,
  });
  const bytes = Buffer.from(read.content_base64, "base64");
  return {
    workspace_id: record.workspace_id,
    path: read.path,
    size_bytes: read.size,
    max_bytes: maxBytes,
    mode: read.mode,
    mtime: read.mtime,
    ...encodeContent(bytes, read.truncated),
  };
}

/**
 * Content as a JSON string: UTF-8 text when it is text (a multi-byte character cut by
 * max_bytes is left out whole), base64 otherwise (binary, NUL bytes, invalid UTF-8).
 */
export function encodeContent(bytes: Buffer, truncated: boolean) {
  const body = truncated ? withoutCutCharacter(bytes) : bytes;
  if (!body.includes(0)) {
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(body);
      return {
        content: text,
        encoding: "utf8" as const,
        returned_bytes: body.length,
        truncated,
      };
    } catch {
      // not UTF-8: base64 below
    }
  }
  return {
    content: bytes.toString("base64"),
    encoding: "base64" as const,
    returned_bytes: bytes.length,
    truncated,
  };
}

/** Drops a UTF-8 sequence cut short at the end (at most 3 bytes). */
function withoutCutCharacter(bytes: Buffer): Buffer {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    if (byte < 0x80) return bytes; // ASCII: nothing cut
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return needed > back ? bytes.subarray(0, bytes.length - back) : bytes;
  }
  return bytes;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export async function writeWorkspaceFile(
  context: ManagerContext,
  id: string,
  input: { path: string; text: string; encoding?: "utf8" | "base64"; mode?: string },
) {
  const guestPath = normalizeGuestPath(input.path, "path");
  if (guestPath === "/workspace") {
    throw new ValidationError("path must name a file below /workspace, got '/workspace'", {
      field: "path",
      value: input.path,
    });
  }
  let content: Buffer;
  if (input.encoding === "base64") {
    const compact = input.text.replace(/\s+/g, "");
    if (!BASE64.test(compact)) {
      const shown = compact.length > 40 ? `${compact.slice(0, 40)}…` : compact;
      throw new ValidationError(
        `text must be valid base64 when encoding is 'base64' (A-Z, a-z, 0-9, +, / in groups of 4, = padding), got '${shown}'`,
        { field: "text" },
      );
    }
    content = Buffer.from(compact, "base64");
  } else {
    content = Buffer.from(input.text, "utf8");
  }
  if (content.length > FILE_LIMITS.writeMaxBytes) {
    throw new PyroError(
      "limit_exceeded",
      `text must be at most ${FILE_LIMITS.writeMaxBytes} bytes, got ${content.length} (use workspace_sync_push for larger files)`,
      { field: "text", limit: "file_write_bytes", max: FILE_LIMITS.writeMaxBytes },
    );
  }
  if (input.mode !== undefined && !OCTAL_MODE.test(input.mode)) {
    throw new ValidationError(`mode must be 3 or 4 octal digits like '0644', got '${input.mode}'`, {
      field: "mode",
      value: input.mode,
    });
  }
  const { record, runtime } = await agentFor(context, id, "workspace_file_write", "file.write");
  const written = await context.pool.call(runtime, "file.write", {
    path: guestPath,
    content_base64: content.toString("base64"),
    ...(input.mode !== undefined ? { mode: input.mode } : {}),
  });
  return {
    workspace_id: record.workspace_id,
    path: written.path,
    size_bytes: written.size,
    mode: written.mode,
    created: written.created,
  };
}

export async function applyWorkspacePatch(
  context: ManagerContext,
  id: string,
  input: { patch: string },
) {
  const bytes = Buffer.byteLength(input.patch, "utf8");
  if (input.patch.trim() === "") {
    throw new ValidationError("patch must not be empty", { field: "patch" });
  }
  if (bytes > FILE_LIMITS.patchMaxBytes) {
    throw new PyroError(
      "limit_exceeded",
      `patch must be at most ${FILE_LIMITS.patchMaxBytes} bytes, got ${bytes}`,
      { field: "patch", limit: "patch_bytes", max: FILE_LIMITS.patchMaxBytes },
    );
  }
  const { record, runtime } = await agentFor(context, id, "workspace_patch_apply", "patch.apply");
  const applied = await context.pool.call(runtime, "patch.apply", { patch: input.patch });
  const files = applied.files.map(({ path, status, hunks }) => ({ path, status, hunks }));
  const count = (status: string) => files.filter((file) => file.status === status).length;
  return {
    workspace_id: record.workspace_id,
    changed: files.length > 0,
    summary: {
      total: files.length,
      added: count("added"),
      modified: count("modified"),
      deleted: count("deleted"),
    },
    entries: files,
  };
}
