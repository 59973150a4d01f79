import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

import { archiveKind, packDirectory, validateArchive } from "../archive/index.js";
import { NotFoundError, ValidationError } from "../errors.js";
import { tempSibling, commitTemp } from "../store/atomic.js";
import type { WorkspaceRecord, WorkspaceSeed } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { reportProgress, type ProgressOptions } from "./progress.js";
import { newId, saveWorkspace, withWorkspaceLock } from "./records-io.js";
import type { Backend } from "../backends/index.js";
import {
  bootSandbox,
  chooseBackend,
  destroyRuntime,
  newSandboxFields,
  removeTree,
  type SandboxInput,
} from "./sandbox.js";

export interface CreateWorkspaceInput extends SandboxInput {
  seed_path?: string | null;
}

/** A seed or sync source, checked before anything is created. */
export interface SourceArchive {
  mode: "directory" | "tar_archive";
  sourcePath: string;
}

/** Resolves and validates a host directory or archive given as `field`. */
export async function resolveSource(raw: string, field: string): Promise<SourceArchive> {
  if (typeof raw !== "string" || raw.trim() === "") {
    throw new ValidationError(`${field} must not be empty`, { field });
  }
  const sourcePath = path.resolve(raw);
  const stat = await fs.stat(sourcePath).catch(() => null);
  if (!stat)
    throw new NotFoundError(`${field} does not exist: '${sourcePath}'`, { field, value: raw });
  if (stat.isDirectory()) return { mode: "directory", sourcePath };
  if (!stat.isFile()) {
    throw new ValidationError(
      `${field} must be a directory or a .tar, .tar.gz or .tgz archive: '${sourcePath}'`,
      {
        field,
        value: raw,
      },
    );
  }
  archiveKind(sourcePath);
  // Refuse unsafe members before a sandbox exists, so a bad archive costs nothing.
  await validateArchive(sourcePath, {});
  return { mode: "tar_archive", sourcePath };
}

/**
 * Streams a source into the sandbox at `destination`. Directories are packed to a temp
 * tar first (symlinks stay symlinks); archives go as they are and the agent validates
 * them again, member by member, before writing anything.
 */
export async function uploadSource(
  context: ManagerContext,
  record: WorkspaceRecord,
  source: SourceArchive,
  destination: string,
  stagingDir: string,
): Promise<{ entry_count: number; bytes_written: number }> {
  if (!record.runtime) throw new Error("uploadSource needs a running sandbox");
  let file = source.sourcePath;
  let temp: string | null = null;
  try {
    if (source.mode === "directory") {
      await fs.mkdir(stagingDir, { recursive: true });
      temp = tempSibling(path.join(stagingDir, "source.tar"));
      await packDirectory(source.sourcePath, temp);
      file = temp;
    }
    const result = await context.pool.request<{ entry_count: number; bytes_written: number }>(
      record.runtime,
      "archive.import",
      { destination },
      { upload: createReadStream(file) },
    );
    return { entry_count: result.entry_count, bytes_written: result.bytes_written };
  } finally {
    if (temp) await fs.rm(temp, { force: true });
  }
}

/** Streams a tree out of the sandbox into `target` (atomically: temp file, then rename). */
export async function downloadArchive(
  context: ManagerContext,
  record: WorkspaceRecord,
  guestPath: string,
  target: string,
): Promise<{
  artifact_type: "file" | "directory" | "symlink";
  entry_count: number;
  size_bytes: number;
}> {
  if (!record.runtime) throw new Error("downloadArchive needs a running sandbox");
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = tempSibling(target);
  const handle = await fs.open(temp, "w", 0o600);
  try {
    const result = await context.pool.request<{
      artifact_type: "file" | "directory" | "symlink";
      entry_count: number;
      size_bytes: number;
    }>(
      record.runtime,
      "archive.export",
      { path: guestPath },
      { onData: async (chunk) => void (await handle.write(chunk)) },
    );
    await handle.sync();
    await handle.close();
    await commitTemp(temp, target);
    return result;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw error;
  }
}

export function buildWorkspaceRecord(
  backend: Backend,
  input: CreateWorkspaceInput,
  seed: WorkspaceSeed,
): WorkspaceRecord {
  return {
    kind: "workspace",
    workspace_id: newId(),
    state: "stopped",
    ...newSandboxFields(input, backend),
    workspace_seed: seed,
    command_count: 0,
    last_command: null,
    reset_count: 0,
    workspace_reset: null,
  };
}

/**
 * Boots a sandbox, seeds /workspace and stores the immutable baseline. Until the record is
 * written, the workspace does not exist for anyone else; any failure on the way destroys
 * the sandbox and removes the directory, so nothing is left behind.
 */
export async function createWorkspace(
  context: ManagerContext,
  input: CreateWorkspaceInput,
  options?: ProgressOptions,
): Promise<WorkspaceRecord> {
  const seedSource = input.seed_path ? await resolveSource(input.seed_path, "seed_path") : null;
  const { backend } = await chooseBackend(context, input);
  const record = buildWorkspaceRecord(backend, input, {
    mode: seedSource?.mode ?? "empty",
    seed_path: seedSource?.sourcePath ?? null,
  });
  const id = record.workspace_id;
  const dir = context.layout.workspaceDir(id);
  return withWorkspaceLock(context.layout, id, async () => {
    await fs.mkdir(dir, { recursive: true });
    try {
      reportProgress(options, "booting sandbox", 0, 3);
      record.runtime = await bootSandbox(context, record);
      if (seedSource) {
        reportProgress(options, "seeding /workspace", 1, 3);
        const seeded = await uploadSource(
          context,
          record,
          seedSource,
          "/workspace",
          path.join(dir, "staging"),
        );
        record.workspace_seed = { ...record.workspace_seed, ...seeded };
      }
      reportProgress(options, "storing baseline", 2, 3);
      await downloadArchive(context, record, "/workspace", context.layout.baselineArchive(id));
      record.state = "started";
      await saveWorkspace(context.layout, record);
      return record;
    } catch (error) {
      await destroyRuntime(context, record).catch(() => undefined);
      await removeTree(dir);
      throw error;
    }
  });
}
