import fs from "node:fs/promises";

import type { SandboxSpec } from "../backends/index.js";
import {
  SCHEMA_VERSION,
  type RuntimeRecord,
  type VmRecord,
  type WorkspaceRecord,
} from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";
import { LIMITS, checkEnvironment, checkIntRange } from "./limits.js";

type SandboxRecord = WorkspaceRecord | VmRecord;

export function sandboxIdOf(record: SandboxRecord): string {
  return record.kind === "workspace" ? record.workspace_id : record.vm_id;
}

export function specFor(context: ManagerContext, record: SandboxRecord): SandboxSpec {
  const id = sandboxIdOf(record);
  return {
    sandboxId: id,
    sandboxDir:
      record.kind === "workspace" ? context.layout.workspaceDir(id) : context.layout.vmDir(id),
    vcpuCount: record.vcpu_count,
    memMib: record.mem_mib,
    allowHostCompat: record.allow_host_compat,
    networkRequested: record.network_requested,
    expiresAt: record.expires_at,
  };
}

/** Stops the sandbox behind a record (if any) and forgets its connection. */
export async function destroyRuntime(
  context: ManagerContext,
  record: SandboxRecord,
): Promise<void> {
  const runtime = record.runtime;
  if (runtime) context.pool.forget(runtime);
  await context.backend.destroy(runtime, specFor(context, record));
  record.runtime = null;
}

/** True when the record claims a running sandbox whose process has died. */
export function runtimeIsDead(context: ManagerContext, record: SandboxRecord): boolean {
  return record.runtime !== null && !context.backend.isAlive(record.runtime);
}

export function deadRuntimeMessage(runtime: RuntimeRecord): string {
  return `the backing guest process (pid ${runtime.pid}) is no longer running`;
}

export async function removeTree(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** What creating a VM and creating a workspace both take. */
export interface SandboxInput {
  environment?: string;
  vcpu_count?: number;
  mem_mib?: number;
  ttl_seconds?: number;
  network?: boolean;
  allow_host_compat?: boolean;
}

/**
 * The validated fields every sandbox record starts with (limits checked here, once, so a
 * VM and a workspace refuse the same bad value with the same message). Not booted yet.
 */
export function newSandboxFields(
  context: ManagerContext,
  input: SandboxInput,
): Omit<VmRecord, "kind" | "vm_id" | "state"> {
  const ttl = checkIntRange(
    "ttl_seconds",
    input.ttl_seconds ?? LIMITS.ttlSeconds.default,
    LIMITS.ttlSeconds.min,
    LIMITS.ttlSeconds.max,
  );
  const created = nowSeconds();
  return {
    schema_version: SCHEMA_VERSION,
    environment: checkEnvironment(input.environment ?? "debian:12"),
    backend: context.backend.name,
    vcpu_count: checkIntRange(
      "vcpu_count",
      input.vcpu_count ?? LIMITS.vcpuCount.default,
      LIMITS.vcpuCount.min,
      LIMITS.vcpuCount.max,
    ),
    mem_mib: checkIntRange(
      "mem_mib",
      input.mem_mib ?? LIMITS.memMib.default,
      LIMITS.memMib.min,
      LIMITS.memMib.max,
    ),
    ttl_seconds: ttl,
    network_requested: input.network ?? false,
    allow_host_compat: input.allow_host_compat ?? false,
    created_at: created,
    expires_at: created + ttl,
    execution_mode: context.backend.executionMode,
    runtime: null,
    last_error: null,
  };
}
