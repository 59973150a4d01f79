import fs from "node:fs/promises";

import { PyroError, StateError } from "../errors.js";
import { claimActiveSlot } from "./active-slots.js";
import { VmRecordSchema, type VmRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { commandPayload } from "./payloads.js";
import { nowSeconds } from "./context.js";
import { LIMITS, checkCommand, checkTimeout } from "../shared/limits.js";
import { reportProgress, type ProgressOptions } from "./progress.js";
import { reapExpiredOfKind, type ReapableKind } from "./reap-loop.js";
import { loadVm, newId, saveVm, withVmLock } from "./records-io.js";
import {
  deadRuntimeMessage,
  destroyRuntime,
  removeTree,
  runtimeIsDead,
  bootSandbox,
  chooseBackend,
  networkPolicyOf,
  newSandboxFields,
  type SandboxInput,
} from "./sandbox.js";

export type CreateVmInput = SandboxInput;

function isExpired(record: { expires_at: number }, now = nowSeconds()): boolean {
  return record.expires_at <= now;
}

export async function createVm(context: ManagerContext, input: CreateVmInput): Promise<VmRecord> {
  const { backend } = await chooseBackend(context, input);
  const record: VmRecord = {
    kind: "vm",
    vm_id: newId(),
    state: "created",
    ...newSandboxFields(input, backend),
  };
  await reapExpiredVms(context);
  await claimActiveSlot(context, async () => {
    await fs.mkdir(context.layout.vmDir(record.vm_id), { recursive: true });
    await saveVm(context.layout, record);
  });
  return record;
}

/**
 * Loads a VM for use. An expired VM is deleted on the spot and reported as such; a VM
 * whose sandbox died is marked stopped.
 */
export async function loadLiveVm(context: ManagerContext, id: string): Promise<VmRecord> {
  const record = await loadVm(context.layout, id);
  if (isExpired(record)) {
    await deleteVm(context, record.vm_id).catch(() => undefined);
    throw new PyroError("expired", `vm '${record.vm_id}' expired and was automatically deleted`, {
      vm_id: record.vm_id,
    });
  }
  if (runtimeIsDead(context, record)) {
    return withVmLock(context.layout, record.vm_id, async () => {
      const current = await loadVm(context.layout, record.vm_id);
      if (current.runtime && runtimeIsDead(context, current)) {
        current.last_error = await deadRuntimeMessage(context, current, current.runtime);
        await destroyRuntime(context, current);
        current.state = "stopped";
        await saveVm(context.layout, current);
      }
      return current;
    });
  }
  return record;
}

export async function startVm(
  context: ManagerContext,
  id: string,
  options?: ProgressOptions,
): Promise<VmRecord> {
  const loaded = await loadLiveVm(context, id);
  return withVmLock(context.layout, loaded.vm_id, async () => {
    const record = await loadVm(context.layout, loaded.vm_id);
    if (record.state === "started") {
      throw new StateError(`vm '${record.vm_id}' cannot be started from state '${record.state}'`, {
        state: record.state,
      });
    }
    const wasStopped = record.state === "stopped";
    if (wasStopped) {
      // A stopped VM holds no slot; booting it again takes one.
      await claimActiveSlot(context, async () => {
        record.state = "created";
        await saveVm(context.layout, record);
      });
    }
    try {
      reportProgress(options, "booting sandbox");
      record.runtime = await bootSandbox(context, record);
    } catch (error) {
      if (wasStopped) record.state = "stopped";
      record.last_error = (error as Error).message;
      await saveVm(context.layout, record);
      throw error;
    }
    record.state = "started";
    record.last_error = null;
    await saveVm(context.layout, record);
    return record;
  });
}

/** Runs one command in a started VM, then deletes the VM (one-shot semantics). */
export async function execVm(
  context: ManagerContext,
  id: string,
  input: ExecVmInput,
  options: { signal?: AbortSignal } = {},
) {
  const timeout = checkTimeout(input.timeout_seconds ?? LIMITS.timeoutSeconds.default);
  const command = checkCommand(input.command);
  const record = await loadLiveVm(context, id);
  if (record.state !== "started" || !record.runtime) {
    throw new StateError(
      `vm '${record.vm_id}' must be in 'started' state before vm_exec; it is '${record.state}'`,
      {
        state: record.state,
      },
    );
  }
  try {
    // A cancelled call kills the command (the agent aborts it) and the VM goes below.
    const result = await context.pool.call(
      record.runtime,
      "exec",
      { command, cwd: "/workspace", timeout_seconds: timeout },
      { signal: options.signal },
    );
    if (options.signal?.aborted) {
      throw new PyroError("cancelled", "vm_exec was cancelled; its command was killed", {
        vm_id: record.vm_id,
        exit_code: result.exit_code,
      });
    }
    return {
      vm_id: record.vm_id,
      environment: record.environment,
      ...commandPayload(command, result, record.execution_mode),
    };
  } finally {
    await deleteVm(context, record.vm_id).catch(() => undefined);
  }
}

export async function stopVm(context: ManagerContext, id: string): Promise<VmRecord> {
  const loaded = await loadLiveVm(context, id);
  return withVmLock(context.layout, loaded.vm_id, async () => {
    const record = await loadVm(context.layout, loaded.vm_id);
    await destroyRuntime(context, record);
    record.state = "stopped";
    await saveVm(context.layout, record);
    return record;
  });
}

export async function deleteVm(context: ManagerContext, id: string) {
  const loaded = await loadVm(context.layout, id);
  await withVmLock(context.layout, loaded.vm_id, async () => {
    const record = await loadVm(context.layout, loaded.vm_id).catch(() => null);
    if (record) await destroyRuntime(context, record);
    await removeTree(context.layout.vmDir(loaded.vm_id));
  });
  return { vm_id: loaded.vm_id, deleted: true };
}

/** Deletes expired VMs and VM directories whose record is missing or corrupt. */
export function reapExpiredVms(context: ManagerContext, now = nowSeconds()): Promise<string[]> {
  return reapExpiredOfKind(context, VM_KIND, now);
}

const VM_KIND: ReapableKind = {
  kind: "vm",
  dir: (context) => context.layout.vmsDir,
  recordFile: (context, id) => context.layout.vmRecord(id),
  sandboxDir: (context, id) => context.layout.vmDir(id),
  schema: VmRecordSchema,
  remove: deleteVm,
};

export interface ExecVmInput {
  command: string;
  timeout_seconds?: number;
}

export type RunVmInput = CreateVmInput & ExecVmInput;

/** create + start + exec (+ delete, which exec does); the VM is deleted even on failure. */
export async function runVm(
  context: ManagerContext,
  input: RunVmInput,
  options?: ProgressOptions & { signal?: AbortSignal },
) {
  const created = await createVm(context, input);
  try {
    await startVm(context, created.vm_id, options);
  } catch (error) {
    await deleteVm(context, created.vm_id).catch(() => undefined);
    throw error;
  }
  const { command, timeout_seconds } = input;
  return execVm(context, created.vm_id, { command, timeout_seconds }, { signal: options?.signal });
}

export async function networkInfoVm(context: ManagerContext, vmId: string) {
  const record = await loadVm(context.layout, vmId);
  return {
    vm_id: record.vm_id,
    // User-mode networking: the guest's address (10.0.2.15) is private to its VM, and
    // there is no tap device or MAC the host could use (docs/networking.md).
    network_enabled: networkPolicyOf(record) !== "off",
    guest_ip: null,
    tap_name: null,
    mac_address: null,
  };
}
