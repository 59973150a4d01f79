/**
 * The host's mirror of each service (`workspaces/<id>/services/<name>.json`, see
 * services.ts): written from the agent's answers, read when the sandbox is gone.
 */
import fs from "node:fs/promises";
import path from "node:path";

import {
  readRecord,
  ServiceMirrorSchema,
  ServiceSchema,
  writeRecord,
  type Service,
  type ServiceMirror,
  type WorkspaceRecord,
} from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { redactorFor } from "./secrets.js";
import { unpublishPorts } from "./published-ports.js";

export type Mirror = ServiceMirror;

/** A service as the agent reports it (the mirror without the host-only fields). */
type AgentService = Omit<
  Mirror,
  "schema_version" | "workspace_id" | "execution_mode" | "updated_at"
>;

/**
 * A stopped workspace's services are stopped (stop_reason workspace_stopped). If its agent
 * is really gone, processes it left behind on the host are killed too; if the record says
 * stopped while the agent still runs (it can: records are edited, resets fail half-way),
 * the agent's own teardown on delete/reset stops them.
 */
export async function stopMirrors(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<Mirror[]> {
  const mirrors = await readMirrors(context, record);
  for (const mirror of mirrors) {
    if (mirror.state !== "running" && mirror.state !== "starting") continue;
    mirror.state = "stopped";
    mirror.stop_reason = "workspace_stopped";
    mirror.ended_at ??= nowSeconds();
    mirror.revision += 1;
    mirror.updated_at = nowSeconds();
    await writeRecord(mirrorPath(context, record, mirror.service_name), mirror);
  }
  return mirrors;
}

export async function readMirrors(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<Mirror[]> {
  const dir = context.layout.servicesDir(record.workspace_id);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const mirrors: Mirror[] = [];
  for (const name of names
    .filter((item) => item.endsWith(".json") && !item.startsWith("."))
    .sort()) {
    // A corrupt mirror is skipped, not fatal: the agent is the source of truth.
    const mirror = await readRecord(path.join(dir, name), ServiceMirrorSchema).catch(() => null);
    if (mirror) mirrors.push(mirror);
  }
  return mirrors;
}

export function mirrorPath(context: ManagerContext, record: WorkspaceRecord, name: string): string {
  return path.join(context.layout.servicesDir(record.workspace_id), `${name}.json`);
}

/** Writes the agent's view of a service unless a newer one is already on disk. */
export async function saveMirror(
  context: ManagerContext,
  record: WorkspaceRecord,
  service: AgentService,
): Promise<Mirror> {
  const file = mirrorPath(context, record, service.service_name);
  // The mirror is stored and returned: a value in the command line or a readiness command
  // is redacted before either.
  const redactor = await redactorFor(context, record.workspace_id);
  if (redactor) service = redactor.redactDeep(service);
  const mirror = ServiceMirrorSchema().parse({
    schema_version: 1,
    workspace_id: record.workspace_id,
    service_name: service.service_name,
    state: service.state,
    command: service.command,
    cwd: service.cwd,
    readiness: service.readiness,
    pid: service.pid,
    pid_start_ticks: service.pid_start_ticks,
    owner_token: service.owner_token ?? null,
    started_at: service.started_at,
    ready_at: service.ready_at,
    ended_at: service.ended_at,
    exit_code: service.exit_code,
    exit_signal: service.exit_signal,
    stop_reason: service.stop_reason,
    failure_reason: service.failure_reason,
    revision: service.revision,
    execution_mode: record.execution_mode,
    updated_at: nowSeconds(),
  });
  const existing = await readRecord(file, ServiceMirrorSchema).catch(() => null);
  // Same service instance (same owner token) and a newer revision on disk: keep that one.
  if (existing?.owner_token === mirror.owner_token && existing.revision > mirror.revision) {
    return existing;
  }
  // The agent knows nothing of published ports: the same instance keeps those recorded,
  // and closes them once it has ended (exited by itself, failed or stopped).
  if (existing?.owner_token === mirror.owner_token && existing?.published_ports) {
    mirror.published_ports = existing.published_ports;
    if (mirror.published_ports.length > 0 && !["running", "starting"].includes(mirror.state)) {
      await unpublishPorts(context, record, mirror.published_ports);
      mirror.published_ports = [];
    }
  }
  await writeRecord(file, mirror);
  return mirror;
}

/** The service as reported: the mirror without its host-only fields (the schema strips them). */
export function servicePayload(record: WorkspaceRecord, mirror: Mirror): Service {
  return ServiceSchema().parse({
    ...mirror,
    workspace_id: record.workspace_id,
    // Ports are open only while the service runs in a live sandbox.
    published_ports:
      mirror.state === "running" || mirror.state === "starting"
        ? (mirror.published_ports ?? [])
        : [],
  });
}
