import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";

import { NotFoundError, PyroError } from "../errors.js";
import type { StateLayout } from "../store/layout.js";
import { withLock } from "../store/lock.js";
import {
  CorruptRecordError,
  VmRecordSchema,
  WorkspaceRecordSchema,
  readRecord,
  writeRecord,
  type VmRecord,
  type WorkspaceRecord,
} from "../store/records.js";
import { checkId } from "../shared/limits.js";

export function newId(): string {
  return randomBytes(6).toString("hex");
}

/**
 * Loads a workspace record. A missing record is "does not exist"; a corrupt one is
 * reported as such (the reaper removes it) rather than crashing with a parse error.
 */
export async function loadWorkspace(layout: StateLayout, rawId: string): Promise<WorkspaceRecord> {
  const id = checkId("workspace", rawId);
  const record = await readRecord(layout.workspaceRecord(id), WorkspaceRecordSchema).catch(
    (error: unknown) => {
      if (error instanceof CorruptRecordError) {
        throw new PyroError(
          "internal",
          `workspace '${id}' has a corrupt record and cannot be used: ${error.message}`,
        );
      }
      throw error;
    },
  );
  if (!record) throw new NotFoundError(`workspace '${id}' does not exist`, { workspace_id: id });
  return record;
}

export function saveWorkspace(layout: StateLayout, record: WorkspaceRecord): Promise<void> {
  return writeRecord(
    layout.workspaceRecord(record.workspace_id),
    WorkspaceRecordSchema.parse(record),
  );
}

export function withWorkspaceLock<T>(
  layout: StateLayout,
  id: string,
  fn: () => Promise<T>,
): Promise<T> {
  return withLock(layout.lockFile("workspace", id), fn);
}

/** Load-modify-save under the workspace lock; `mutate` may return a value to pass through. */
export async function updateWorkspace<T>(
  layout: StateLayout,
  id: string,
  mutate: (record: WorkspaceRecord) => Promise<T> | T,
): Promise<{ record: WorkspaceRecord; result: T }> {
  return withWorkspaceLock(layout, id, async () => {
    const record = await loadWorkspace(layout, id);
    const result = await mutate(record);
    await saveWorkspace(layout, record);
    return { record, result };
  });
}

export async function loadVm(layout: StateLayout, rawId: string): Promise<VmRecord> {
  const id = checkId("vm", rawId);
  const record = await readRecord(layout.vmRecord(id), VmRecordSchema).catch((error: unknown) => {
    if (error instanceof CorruptRecordError) {
      throw new PyroError(
        "internal",
        `vm '${id}' has a corrupt record and cannot be used: ${error.message}`,
      );
    }
    throw error;
  });
  if (!record) throw new NotFoundError(`vm '${id}' does not exist`, { vm_id: id });
  return record;
}

export function saveVm(layout: StateLayout, record: VmRecord): Promise<void> {
  return writeRecord(layout.vmRecord(record.vm_id), VmRecordSchema.parse(record));
}

export function withVmLock<T>(layout: StateLayout, id: string, fn: () => Promise<T>): Promise<T> {
  return withLock(layout.lockFile("vm", id), fn);
}

export async function listIds(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
