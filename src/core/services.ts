/**
 * Manager side of named services. The agent owns the processes, probes and logs (see
 * src/agent/services.ts); the host keeps a mirror record per service under
 * `workspaces/<id>/services/<name>.json`, rewritten after every service call, so that
 * (a) a workspace whose sandbox is gone still reports its services, as stopped, and
 * (b) on the host backend, services orphaned by a dead agent can still be found and killed.
 */
import fs from "node:fs/promises";

import { normalizeGuestPath } from "../shared/guest-paths.js";
import { normalizeReadiness, type Readiness } from "../shared/readiness.js";
import { NotFoundError, PyroError, StateError } from "../errors.js";
import { backendOf, guestSuspended } from "./sandbox.js";
import type { AgentOp, AgentRequest, AgentResponse } from "../protocol/operations.js";
import { writeRecord, type WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import {
  checkCommand,
  checkEnv,
  checkIntRange,
  checkName,
  checkTimeout,
} from "../shared/limits.js";
import type { ServiceCounts } from "./payloads.js";
import { redactingErrors, redactorFor, secretEnv } from "./secrets.js";
import { recordEvent } from "./workspace-events.js";
import {
  checkPublishedPorts,
  publishPorts,
  unpublishPorts,
  type PublishedPortInput,
} from "./published-ports.js";
import { refreshWorkspace, requireStarted } from "./workspace-ops.js";
import {
  mirrorPath,
  readMirrors,
  saveMirror,
  servicePayload,
  stopMirrors,
  type Mirror,
} from "./service-mirrors.js";

const SERVICE_DEFAULTS = {
  readyTimeoutSeconds: 30,
  readyIntervalMs: 500,
  tailLines: 200,
} as const;
/** A wedged agent must not hang delete/reset forever; the backend kills it afterwards. */
const TEARDOWN_REQUEST_MS = 15_000;

export interface StartServiceInput {
  command: string;
  /** Under /workspace; default /workspace. Relative readiness file paths resolve against it. */
  cwd?: string;
  readiness?: Readiness | Record<string, unknown> | null;
  ready_timeout_seconds?: number;
  ready_interval_ms?: number;
  env?: Record<string, string>;
  /** {ENV_NAME: SECRET_NAME}: the workspace's secrets in the service's environment. */
  secret_env?: Record<string, string>;
  /** Guest ports to publish on 127.0.0.1 (network_policy egress+published-ports only). */
  published_ports?: PublishedPortInput[];
}

export interface LogsServiceInput {
  /** Default 200; null (or `all: true`) returns everything kept. */
  tail_lines?: number | null;
  all?: boolean;
}

export async function startService(
  context: ManagerContext,
  workspaceId: string,
  serviceName: string,
  input: StartServiceInput,
) {
  const name = checkName("service_name", serviceName);
  const command = checkCommand(input?.command);
  const cwd = normalizeGuestPath(input.cwd ?? "/workspace", "cwd");
  const readiness = normalizeReadiness(input.readiness ?? null, cwd);
  if (readiness?.type === "command") checkCommand(readiness.command, "readiness.command");
  const body = {
    service_name: name,
    command,
    cwd,
    readiness,
    ready_timeout_seconds: checkTimeout(
      input.ready_timeout_seconds ?? SERVICE_DEFAULTS.readyTimeoutSeconds,
      "ready_timeout_seconds",
    ),
    ready_interval_ms: checkIntRange(
      "ready_interval_ms",
      input.ready_interval_ms ?? SERVICE_DEFAULTS.readyIntervalMs,
      10,
      60_000,
    ),
  };
  const checkedEnv = checkEnv(input.env);
  return redactingErrors(context, workspaceId, async () => {
    const record = await requireStarted(context, workspaceId, "service_start");
    const env = await secretEnv(context, record, input.secret_env, checkedEnv);
    if (env && record.runtime && !(await context.pool.supports(record.runtime, "command.run"))) {
      // An agent from before env on services would start the service without it.
      throw new StateError(
        `workspace '${record.workspace_id}' runs an agent from an older pyro that cannot set a service's env; reset the workspace to boot it with this version's agent`,
        { workspace_id: record.workspace_id, reason: "agent_too_old" },
      );
    }
    const ports = checkPublishedPorts(input.published_ports, record);
    const service = await agentCall(
      context,
      record,
      "service.start",
      env ? { ...body, env } : body,
    );
    const mirror = await saveMirror(context, record, service);
    if (ports.length > 0) {
      try {
        mirror.published_ports = await publishPorts(context, record, ports);
      } catch (error) {
        // A service whose ports could not be published is not left running unreachable.
        await agentCall(context, record, "service.stop", { service_name: name }).catch(
          () => undefined,
        );
        throw error;
      }
      await writeRecord(mirrorPath(context, record, name), mirror);
    }
    const payload = servicePayload(record, mirror);
    // The journal is on disk: a secret typed into the command line stays out of it too.
    const redactor = await redactorFor(context, record.workspace_id);
    const detail = `${name}: ${command}`;
    await recordEvent(
      context.layout,
      record.workspace_id,
      "service_start",
      redactor ? redactor.redact(detail) : detail,
    );
    return payload;
  });
}

export async function listServices(context: ManagerContext, workspaceId: string) {
  const record = await refreshWorkspace(context, workspaceId);
  const mirrors = await currentServices(context, record);
  return {
    workspace_id: record.workspace_id,
    count: mirrors.length,
    running_count: mirrors.filter((mirror) => mirror.state === "running").length,
    services: mirrors.map((mirror) => servicePayload(record, mirror)),
  };
}

export async function statusService(
  context: ManagerContext,
  workspaceId: string,
  serviceName: string,
) {
  const name = checkName("service_name", serviceName);
  const record = await refreshWorkspace(context, workspaceId);
  if (isLive(context, record)) {
    const service = await agentCall(context, record, "service.status", {
      service_name: name,
    });
    return servicePayload(record, await saveMirror(context, record, service));
  }
  const mirror = (await stopMirrors(context, record)).find((item) => item.service_name === name);
  if (!mirror) throw notFound(record, name);
  return servicePayload(record, mirror);
}

export async function logsService(
  context: ManagerContext,
  workspaceId: string,
  serviceName: string,
  input: LogsServiceInput = {},
) {
  const name = checkName("service_name", serviceName);
  let tailLines: number | null =
    input.tail_lines === undefined ? SERVICE_DEFAULTS.tailLines : input.tail_lines;
  if (input.all === true) tailLines = null;
  if (tailLines !== null)
    tailLines = checkIntRange("tail_lines", tailLines, 0, Number.MAX_SAFE_INTEGER);
  return redactingErrors(context, workspaceId, async () => {
    const record = await requireStarted(context, workspaceId, "service_logs");
    const result = await agentCall(context, record, "service.logs", {
      service_name: name,
      tail_lines: tailLines,
    });
    const mirror = await saveMirror(context, record, result);
    const redactor = await redactorFor(context, record.workspace_id);
    // A tail may begin inside a value (its head is then redacted too); a running service's
    // log may end inside one (that end is left out until it is whole).
    const redact = (text: string, truncated: boolean): string =>
      redactor
        ? redactor.redactSnapshot(text, {
            headCut: truncated ? "line" : false,
            tailOpen: mirror.state === "running",
          })
        : text;
    return {
      ...servicePayload(record, mirror),
      stdout: redact(result.stdout as string, result.stdout_truncated as boolean),
      stderr: redact(result.stderr as string, result.stderr_truncated as boolean),
      tail_lines: tailLines,
      truncated: result.truncated as boolean,
      stdout_truncated: result.stdout_truncated as boolean,
      stderr_truncated: result.stderr_truncated as boolean,
    };
  });
}

export async function stopService(
  context: ManagerContext,
  workspaceId: string,
  serviceName: string,
) {
  const name = checkName("service_name", serviceName);
  const record = await requireStarted(context, workspaceId, "service_stop");
  const service = await agentCall(context, record, "service.stop", {
    service_name: name,
  });
  const mirror = await saveMirror(context, record, service);
  if (mirror.published_ports?.length) {
    await unpublishPorts(context, record, mirror.published_ports);
    mirror.published_ports = [];
    await writeRecord(mirrorPath(context, record, name), mirror);
  }
  const payload = servicePayload(record, mirror);
  await recordEvent(context.layout, record.workspace_id, "service_stop", name);
  return payload;
}

/**
 * Feeds service_count / running_service_count into workspace status. A running sandbox
 * answers for itself (and the mirrors are brought up to date); a stopped workspace's
 * services are stopped, whatever their mirrors last said.
 */
export async function serviceCounts(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<ServiceCounts> {
  const mirrors = await currentServices(context, record).catch(() => readMirrors(context, record));
  return {
    service_count: mirrors.length,
    running_service_count: mirrors.filter((mirror) => mirror.state === "running").length,
  };
}

/**
 * Before a sandbox is destroyed (delete, reset, expiry): stop every service and close
 * every shell through the agent, kill anything a dead agent orphaned, and drop the
 * mirrors: a reset sandbox starts with no services.
 */
export async function teardownServices(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<void> {
  // A suspended guest runs nothing: it is not resumed only to be torn down.
  if (isLive(context, record) && record.runtime && !guestSuspended(context, record)) {
    const runtime = record.runtime;
    const deadline = { timeoutMs: TEARDOWN_REQUEST_MS };
    await Promise.all([
      context.pool.call(runtime, "service.stop_all", { remove: true }, deadline),
      context.pool.call(runtime, "shell.close_all", {}, deadline),
    ]).catch(() => undefined); // the backend's destroy kills whatever is left
  }
  await fs.rm(context.layout.servicesDir(record.workspace_id), { recursive: true, force: true });
}

// ---- internals ------------------------------------------------------------------------

function isLive(context: ManagerContext, record: WorkspaceRecord): boolean {
  return (
    record.state === "started" &&
    record.runtime !== null &&
    backendOf(context, record).isAlive(record.runtime)
  );
}

/** The services as they are now: from the agent when it runs, else the stopped mirrors. */
async function currentServices(
  context: ManagerContext,
  record: WorkspaceRecord,
): Promise<Mirror[]> {
  if (!isLive(context, record)) return stopMirrors(context, record);
  // No service ran when the guest was suspended: the mirrors are current, and asking the
  // agent would resume it (a workspace_list would wake every suspended workspace).
  if (guestSuspended(context, record)) return readMirrors(context, record);
  const asked = nowSeconds();
  const listed = await agentCall(context, record, "service.list", {});
  const mirrors = await Promise.all(
    listed.services.map((service) => saveMirror(context, record, service)),
  );
  // A mirror the agent no longer knows is stale, unless another process wrote it after we asked.
  const known = new Set(mirrors.map((mirror) => mirror.service_name));
  for (const stale of await readMirrors(context, record)) {
    if (!known.has(stale.service_name) && stale.updated_at < asked) {
      await fs.rm(mirrorPath(context, record, stale.service_name), { force: true });
    }
  }
  return mirrors;
}

async function agentCall<Op extends AgentOp>(
  context: ManagerContext,
  record: WorkspaceRecord,
  op: Op,
  body: AgentRequest<Op> & { service_name?: string },
): Promise<AgentResponse<Op>> {
  const runtime = record.runtime;
  if (!runtime) throw new PyroError("internal", "a started workspace has no runtime");
  try {
    return await context.pool.call(runtime, op, body);
  } catch (error) {
    if (
      error instanceof PyroError &&
      error.code === "not_found" &&
      typeof body.service_name === "string"
    ) {
      throw notFound(record, body.service_name);
    }
    throw error;
  }
}

function notFound(record: WorkspaceRecord, name: string): NotFoundError {
  return new NotFoundError(
    `service '${name}' does not exist in workspace '${record.workspace_id}'`,
    {
      workspace_id: record.workspace_id,
      service_name: name,
    },
  );
}
