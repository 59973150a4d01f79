import fs from "node:fs/promises";
import os from "node:os";

import type { Backend, BackendChoice, SandboxSpec } from "../backends/index.js";
import { PyroError, ValidationError } from "../errors.js";
import {
  SCHEMA_VERSION,
  type RuntimeRecord,
  type VmRecord,
  type WorkspaceRecord,
} from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { materializeSecrets } from "./secrets.js";
import { nowSeconds } from "./context.js";
import type { EnvironmentName } from "../environments/catalog.js";
import { LIMITS, checkEnvironment, checkIntRange } from "../shared/limits.js";
import { activityFile, expiryState } from "./workspace-expiry.js";
import {
  checkNetworkPolicy,
  parseAllowHosts,
  type NetworkPolicy,
} from "../shared/network-policy.js";

type SandboxRecord = WorkspaceRecord | VmRecord;

function sandboxIdOf(record: SandboxRecord): string {
  return record.kind === "workspace" ? record.workspace_id : record.vm_id;
}

function specFor(context: ManagerContext, record: SandboxRecord): SandboxSpec {
  const id = sandboxIdOf(record);
  return {
    sandboxId: id,
    environment: record.environment,
    sandboxDir:
      record.kind === "workspace" ? context.layout.workspaceDir(id) : context.layout.vmDir(id),
    vcpuCount: record.vcpu_count,
    memMib: record.mem_mib,
    allowHostCompat: record.allow_host_compat,
    networkRequested: record.network_requested,
    // A workspace's deadline follows its use: the sandbox re-reads its activity file.
    ...(record.kind === "workspace"
      ? {
          expiresAt: expiryState(context.layout, record).expires_at,
          activityFile: activityFile(context.layout, id),
        }
      : { expiresAt: record.expires_at }),
    networkPolicy: networkPolicyOf(record),
    allowHosts: record.allow_hosts ?? [],
    ...(record.kind === "workspace" && record.workspace_volume === true
      ? { volume: { resetTo: null } }
      : {}),
  };
}

/** The record's network policy (records from before network_policy: from network_requested). */
export function networkPolicyOf(record: SandboxRecord): NetworkPolicy {
  return record.network_policy ?? (record.network_requested ? "egress" : "off");
}

/** Stops the sandbox behind a record (if any) and forgets its connection. */
export async function destroyRuntime(
  context: ManagerContext,
  record: SandboxRecord,
): Promise<void> {
  const runtime = record.runtime;
  if (runtime) context.pool.forget(runtime);
  await backendOf(context, record).destroy(runtime, specFor(context, record));
  record.runtime = null;
}

/** True when the record claims a running sandbox whose process has died. */
export function runtimeIsDead(context: ManagerContext, record: SandboxRecord): boolean {
  return record.runtime !== null && !backendOf(context, record).isAlive(record.runtime);
}

/**
 * True when the record's sandbox is live but its guest is saved while idle (the QEMU
 * backend's idle suspend): the next call to its agent would resume it.
 */
export function guestSuspended(context: ManagerContext, record: SandboxRecord): boolean {
  return record.runtime !== null && backendOf(context, record).isSuspended(record.runtime);
}

/** The backend that runs this sandbox: the one its record names. */
export function backendOf(context: ManagerContext, record: SandboxRecord): Backend {
  return context.backends.get(record.backend);
}

/** The sandbox's transfer disk and its lock, when its backend attaches one. */
export function transferDiskOf(
  context: ManagerContext,
  record: SandboxRecord,
): { disk: string; lock: string } | null {
  return backendOf(context, record).transferDisk?.(specFor(context, record).sandboxDir) ?? null;
}

/**
 * Boots the sandbox behind a record with its own backend (`resume`: on its kept disk). Every
 * boot of a workspace (create, reset, start) goes through here, so its secrets are written
 * into each new sandbox before anything can run in it; a sandbox that cannot take them is
 * destroyed again.
 */
export async function bootSandbox(
  context: ManagerContext,
  record: SandboxRecord,
  options: { resume?: boolean; resetTo?: string } = {},
): Promise<RuntimeRecord> {
  const backend = backendOf(context, record);
  const spec = specFor(context, record);
  const { resetTo, ...rest } = options;
  const runtime = await backend.boot({
    ...spec,
    ...rest,
    ...(spec.volume && resetTo !== undefined ? { volume: { resetTo } } : {}),
  });
  if (record.kind !== "workspace") return runtime;
  try {
    await materializeSecrets(context, record, runtime);
  } catch (error) {
    context.pool.forget(runtime);
    await backend.destroy(runtime, spec).catch(() => undefined);
    throw error;
  }
  return runtime;
}

/** The sandbox's own directory (what backends keep its disks in). */
export function sandboxDirOf(context: ManagerContext, record: SandboxRecord): string {
  return specFor(context, record).sandboxDir;
}

/** Stops the sandbox behind a record but keeps its disk (workspace_stop); forgets its connection. */
export async function haltRuntime(context: ManagerContext, record: SandboxRecord): Promise<void> {
  const runtime = record.runtime;
  if (runtime) context.pool.forget(runtime);
  await backendOf(context, record).halt(runtime, specFor(context, record));
  record.runtime = null;
}

export async function deadRuntimeMessage(
  context: ManagerContext,
  record: SandboxRecord,
  runtime: RuntimeRecord,
): Promise<string> {
  return (
    (await backendOf(context, record).deathReason(runtime, specFor(context, record))) ??
    `the backing guest process (pid ${runtime.pid}) is no longer running`
  );
}

/**
 * Picks the backend of a new sandbox. When `auto` fell back to host and the caller did not
 * allow host_compat, fails closed here, saying why no guest could be used.
 */
export async function chooseBackend(
  context: ManagerContext,
  input: SandboxInput,
): Promise<BackendChoice> {
  const environment = checkEnvironment(input.environment ?? "debian:12") as EnvironmentName;
  const choice = await context.backends.choose(environment);
  if (choice.noGuestReason !== null && !(input.allow_host_compat ?? false)) {
    // Host processes are offered only when no guest can boot on this host at all: a guest
    // that is one `pyro env pull` away is the answer, not giving up isolation.
    const cause = choice.noGuestCause ?? "qemu_missing";
    throw new PyroError(
      "guest_unavailable",
      cause === "qemu_missing"
        ? `guest boot is unavailable: ${choice.noGuestReason}; pass allow_host_compat (CLI: --allow-host-compat) to run commands as host processes instead`
        : `guest boot is unavailable: ${choice.noGuestReason}`,
      { environment, reason: cause },
    );
  }
  return choice;
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
  /** Workspaces: off, egress or egress+published-ports (default: egress if network, else off). */
  network_policy?: string;
  /** Workspaces: host patterns the guest may reach (src/shared/network-policy.ts). */
  allow_hosts?: string[];
}

/**
 * The validated fields every sandbox record starts with (limits checked here, once, so a
 * VM and a workspace refuse the same bad value with the same message). Not booted yet.
 */
/**
 * A guest cannot have more memory than the host has in total (MemTotal): qemu would start
 * and the guest would be killed once it touched memory that is not there. The check is
 * against the total, not the momentary MemAvailable, so the same request gets the same
 * answer from one minute to the next; each sandbox's own use is bounded by its mem_mib.
 */
function checkHostMemory(memMib: number): number {
  const hostMib = Math.floor(os.totalmem() / (1024 * 1024));
  if (memMib > hostMib) {
    throw new ValidationError(
      `mem_mib must not exceed the host's memory (${hostMib} MiB), got ${memMib}`,
      { field: "mem_mib", value: memMib, max: hostMib },
    );
  }
  return memMib;
}

export function newSandboxFields(
  input: SandboxInput,
  backend: Backend,
): Omit<VmRecord, "kind" | "vm_id" | "state"> {
  const ttl = checkIntRange(
    "ttl_seconds",
    input.ttl_seconds ?? LIMITS.ttlSeconds.default,
    LIMITS.ttlSeconds.min,
    LIMITS.ttlSeconds.max,
  );
  const created = nowSeconds();
  const network = sandboxNetwork(input, backend);
  return {
    schema_version: SCHEMA_VERSION,
    environment: checkEnvironment(input.environment ?? "debian:12"),
    backend: backend.name,
    vcpu_count: checkIntRange(
      "vcpu_count",
      input.vcpu_count ?? LIMITS.vcpuCount.default,
      LIMITS.vcpuCount.min,
      LIMITS.vcpuCount.max,
    ),
    mem_mib: checkHostMemory(
      checkIntRange(
        "mem_mib",
        input.mem_mib ?? LIMITS.memMib.default,
        LIMITS.memMib.min,
        LIMITS.memMib.max,
      ),
    ),
    ttl_seconds: ttl,
    network_requested: input.network ?? false,
    allow_host_compat: input.allow_host_compat ?? false,
    created_at: created,
    expires_at: created + ttl,
    execution_mode: backend.executionMode,
    runtime: null,
    last_error: null,
    network_policy: network.policy,
    allow_hosts: network.allowHosts,
  };
}

/** A guest's root disk (with /workspace) when its backend keeps one (workspace_disk_*). */
export function rootDiskOf(
  context: ManagerContext,
  record: SandboxRecord,
): { path: string; format: "qcow2" | "raw" } | null {
  return backendOf(context, record).rootDisk?.(specFor(context, record).sandboxDir) ?? null;
}

/** The top of a workspace's volume (its /workspace), when its backend keeps one. */
export function volumeDiskOf(
  context: ManagerContext,
  record: SandboxRecord,
): { path: string; format: "qcow2" | "raw" } | null {
  return backendOf(context, record).workspaceVolume?.(specFor(context, record).sandboxDir) ?? null;
}

/**
 * The network a new sandbox asks for, validated: `network_policy` (or the boolean
 * `network`, true meaning egress) and allow_hosts. The host backend cannot isolate a
 * network (its commands share the host's), so it takes `off` only and says so.
 */
function sandboxNetwork(
  input: SandboxInput,
  backend: Backend,
): { policy: NetworkPolicy; allowHosts: string[] } {
  const fromFlag: NetworkPolicy | null =
    input.network === undefined ? null : input.network ? "egress" : "off";
  const policy =
    input.network_policy === undefined
      ? (fromFlag ?? "off")
      : checkNetworkPolicy(input.network_policy);
  if (
    fromFlag !== null &&
    input.network_policy !== undefined &&
    (fromFlag === "off") !== (policy === "off")
  ) {
    throw new ValidationError(
      `network (${String(input.network)}) contradicts network_policy '${policy}': pass one of them`,
      { field: "network", value: input.network },
    );
  }
  const allowHosts = parseAllowHosts(input.allow_hosts).map((rule) => rule.pattern);
  if (policy === "off" && allowHosts.length > 0) {
    throw new ValidationError(
      `allow_hosts needs network_policy egress or egress+published-ports, got network_policy 'off' with ${allowHosts.length} rule(s)`,
      { field: "allow_hosts", value: input.allow_hosts },
    );
  }
  if (backend.name === "host" && policy !== "off") {
    throw new PyroError(
      "guest_unavailable",
      `network_policy '${policy}' needs a guest backend (qemu): the host backend cannot isolate the network (its commands share the host's network, and allow_hosts could not be enforced)`,
      {
        field: "network_policy",
        value: policy,
        backend: backend.name,
        reason: "network_unsupported",
      },
    );
  }
  return { policy, allowHosts };
}
