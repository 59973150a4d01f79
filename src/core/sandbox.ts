import fs from "node:fs/promises";

import type { SandboxSpec } from "../backends/index.js";
import type { RuntimeRecord, VmRecord, WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";

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
