import fs from "node:fs/promises";
import path from "node:path";

import { StateError, ValidationError } from "../errors.js";
import { withLock } from "../store/lock.js";
import type { WorkspaceRecord } from "../store/records.js";
import { LIMITS, checkIntRange } from "../shared/limits.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { updateWorkspace } from "./records-io.js";
import { serviceCounts } from "./services.js";
import { expiryPayload, hardExpiryFor, writeActivity } from "./workspace-expiry.js";
import {
  assertNameFree,
  checkLabelCount,
  checkLabelKey,
  checkLabels,
  checkWorkspaceName,
  readAllWorkspaces,
} from "./workspace-names.js";

const STATES = ["started", "stopped", "resetting", "stopping", "starting"] as const;

export interface ListWorkspacesInput {
  /** Only workspaces carrying every one of these labels with these values. */
  labels?: Record<string, string>;
  state?: string;
}

/**
 * workspace_list: every workspace, most recently active first, with its name, labels,
 * expiry, service counts and size on disk. Reading only: it neither touches activity nor
 * boots anything (service counts come from a running agent, else the stopped mirrors).
 */
export async function listWorkspaces(context: ManagerContext, input: ListWorkspacesInput = {}) {
  const wanted = input.labels ? checkLabels(input.labels, "labels") : {};
  if (input.state !== undefined && !(STATES as readonly string[]).includes(input.state)) {
    throw new ValidationError(
      `state must be one of ${STATES.join(", ")}; got ${JSON.stringify(input.state)}`,
      { field: "state", value: input.state },
    );
  }
  const now = nowSeconds();
  const records = (await readAllWorkspaces(context)).filter(
    (record) =>
      (input.state === undefined || record.state === input.state) &&
      Object.entries(wanted).every(([key, value]) => record.labels?.[key] === value),
  );
  const rows = await Promise.all(records.map((record) => listRow(context, record, now)));
  rows.sort((a, b) => b.last_activity_at - a.last_activity_at);
  return { count: rows.length, workspaces: rows };
}

async function listRow(context: ManagerContext, record: WorkspaceRecord, now: number) {
  const services = await serviceCounts(context, record).catch(() => ({
    service_count: 0,
    running_service_count: 0,
  }));
  return {
    workspace_id: record.workspace_id,
    name: record.name ?? null,
    labels: record.labels ?? {},
    state: record.state,
    environment: record.environment,
    backend: record.backend,
    created_at: record.created_at,
    ttl_seconds: record.ttl_seconds,
    ...expiryPayload(context.layout, record, now),
    command_count: record.command_count,
    reset_count: record.reset_count,
    service_count: services.service_count,
    running_service_count: services.running_service_count,
    size_bytes: await diskUsage(context.layout.workspaceDir(record.workspace_id)),
    last_error: record.last_error,
  };
}

/** Bytes the workspace's directory takes on the host's disk (allocated blocks: sparse disks count what they hold). */
async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const walk = async (current: string): Promise<void> => {
    const entries = await fs.readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      const stat = await fs.lstat(full).catch(() => null);
      if (!stat) continue;
      total += stat.blocks * 512;
      if (stat.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return total;
}

export interface UpdateWorkspaceInput {
  name?: string | null;
  labels?: Record<string, string>;
  clear_labels?: string[];
  ttl_seconds?: number;
  max_lifetime_seconds?: number | null;
}

/**
 * workspace_update: rename, set or clear labels, change the idle ttl and the hard expiry.
 * Every field is checked before anything changes; the new policy reaches the running
 * sandbox through its activity file (and the update counts as activity).
 */
export async function updateWorkspaceMeta(
  context: ManagerContext,
  id: string,
  input: UpdateWorkspaceInput,
): Promise<WorkspaceRecord> {
  const name =
    input.name === undefined || input.name === null ? input.name : checkWorkspaceName(input.name);
  const labels = input.labels ? checkLabels(input.labels, "labels") : {};
  const clear = (input.clear_labels ?? []).map((key) => checkLabelKey(key, "clear_labels"));
  const ttl =
    input.ttl_seconds === undefined
      ? undefined
      : checkIntRange(
          "ttl_seconds",
          input.ttl_seconds,
          LIMITS.ttlSeconds.min,
          LIMITS.ttlSeconds.max,
        );
  const both = clear.filter((key) => key in labels);
  if (both.length > 0) {
    throw new ValidationError(
      `clear_labels and labels both name ${both.map((key) => `'${key}'`).join(", ")}; set or clear a label, not both`,
      { field: "clear_labels", value: both },
    );
  }
  const apply = async (current: WorkspaceRecord): Promise<void> => {
    if (current.state !== "started" && current.state !== "stopped") {
      throw new StateError(
        `workspace '${current.workspace_id}' is '${current.state}' (another call is working on it); update it once that is done`,
        { workspace_id: current.workspace_id, state: current.state },
      );
    }
    const hard =
      input.max_lifetime_seconds === undefined
        ? current.hard_expires_at
        : hardExpiryFor(current.created_at, input.max_lifetime_seconds);
    if (hard !== null && hard !== undefined && hard <= nowSeconds()) {
      throw new ValidationError(
        `max_lifetime_seconds ${String(input.max_lifetime_seconds)} would put the hard expiry in the past (it counts from the workspace's creation); give a larger one`,
        { field: "max_lifetime_seconds", value: input.max_lifetime_seconds },
      );
    }
    const merged = { ...(current.labels ?? {}), ...labels };
    for (const key of clear) delete merged[key];
    checkLabelCount(Object.keys(merged).length);
    if (typeof name === "string") await assertNameFree(context, name, current.workspace_id);
    if (name !== undefined) current.name = name;
    current.labels = merged;
    if (ttl !== undefined) current.ttl_seconds = ttl;
    current.hard_expires_at = hard ?? null;
  };
  const update = () => updateWorkspace(context.layout, id, apply);
  // A rename holds the names lock across its check and its write, around the workspace's
  // lock (create takes them the other way round, but on a workspace nobody can address yet).
  const { record } =
    typeof name === "string"
      ? await withLock(context.layout.lockFile("workspace", "names"), update)
      : await update();
  await writeActivity(context.layout, record);
  return record;
}
