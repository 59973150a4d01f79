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
import type { LazySchema } from "../shared/fast-check.js";
import { checkId } from "../shared/limits.js";

export function newId(): string {
  return randomBytes(6).toString("hex");
}

/**
 * Loads a sandbox record. A missing record is "does not exist"; a corrupt one is reported
 * as such (the reaper removes it) rather than crashing with a parse error.
 */
async function loadRecord<T>(
  kind: "vm" | "workspace",
  id: string,
  file: string,
  schema: LazySchema<T>,
): Promise<T> {
  const record = await readRecord(file, schema).catch((error: unknown) => {
    if (error instanceof CorruptRecordError) {
      throw new PyroError(
        "internal",
        `${kind} '${id}' has a corrupt record and cannot be used: ${error.message}`,
        {},
        { cause: error },
      );
    }
    throw error;
  });
  if (!record) throw new NotFoundError(`${kind} '${id}' does not exist`, { [`${kind}_id`]: id });
  return record;
}

export async function loadWorkspace(layout: StateLayout, rawId: string): Promise<WorkspaceRecord> {
  const id = checkId("workspace", rawId);
  return loadRecord("workspace", id, layout.workspaceRecord(id), WorkspaceRecordSchema);
}

export function saveWorkspace(layout: StateLayout, record: WorkspaceRecord): Promise<void> {
  return writeRecord(
    layout.workspaceRecord(record.workspace_id),
    WorkspaceRecordSchema().parse(record),
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
  return loadRecord("vm", id, layout.vmRecord(id), VmRecordSchema);
}

export function saveVm(layout: StateLayout, record: VmRecord): Promise<void> {
  return writeRecord(layout.vmRecord(record.vm_id), VmRecordSchema().parse(record));
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
