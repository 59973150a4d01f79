import type { ExecResult } from "../shared/exec-result.js";
import type { NetworkPolicy } from "../shared/network-policy.js";
import type { SandboxCommon, VmRecord, WorkspaceRecord } from "../store/records.js";

export interface ServiceCounts {
  service_count: number;
  running_service_count: number;
}

/** A record's network fields (records from before network_policy: from network_requested). */
type NetworkFields = {
  backend: string;
  network_requested: boolean;
  network_policy?: NetworkPolicy;
  allow_hosts?: string[];
};
function policyOf(record: NetworkFields): NetworkPolicy {
  return record.network_policy ?? (record.network_requested ? "egress" : "off");
}

/** The fields every sandbox result reports the same way, VM or workspace (after its state). */
function sandboxPayload(record: SandboxCommon & NetworkFields) {
  return {
    backend: record.backend,
    execution_mode: record.execution_mode,
    vcpu_count: record.vcpu_count,
    mem_mib: record.mem_mib,
    ttl_seconds: record.ttl_seconds,
    network_enabled: policyOf(record) !== "off",
    allow_host_compat: record.allow_host_compat,
    created_at: record.created_at,
    expires_at: record.expires_at,
    last_error: record.last_error,
  };
}

/** A workspace's expiry as of now (src/core/workspace-expiry.ts expiryPayload). */
interface WorkspaceExpiry {
  last_activity_at: number;
  idle_expires_at: number;
  hard_expires_at: number | null;
  expires_at: number;
  expires_in_seconds: number;
}

export function workspacePayload(
  record: WorkspaceRecord,
  services: ServiceCounts,
  expiry: WorkspaceExpiry,
) {
  return {
    workspace_id: record.workspace_id,
    environment: record.environment,
    state: record.state,
    workspace_path: "/workspace",
    workspace_seed: record.workspace_seed,
    ...sandboxPayload(record),
    command_count: record.command_count,
    last_command: record.last_command,
    reset_count: record.reset_count,
    workspace_reset: record.workspace_reset,
    service_count: services.service_count,
    running_service_count: services.running_service_count,
    /** Names and source kinds only: a value never leaves the host's secrets file. */
    secrets: record.secrets,
    name: record.name ?? null,
    labels: record.labels ?? {},
    ...expiry,
    stopped_at: record.stopped_at ?? null,
    ...networkPayload(record),
    allow_hosts: record.allow_hosts ?? [],
    forked_from: record.forked_from ?? null,
  };
}

function networkPayload(record: NetworkFields) {
  return {
    network_policy: policyOf(record),
    // The host backend runs commands as host processes: they use the host's network, and
    // `off` there means no guest network was set up, not that nothing is reachable.
    host_network_shared: record.backend === "host",
  };
}
export type WorkspacePayload = ReturnType<typeof workspacePayload>;

export function vmPayload(record: VmRecord) {
  return {
    vm_id: record.vm_id,
    environment: record.environment,
    state: record.state,
    ...sandboxPayload(record),
    guest_ip: null,
    ...networkPayload(record),
  };
}
export type VmPayload = ReturnType<typeof vmPayload>;

/** What a command run reports, in a VM or a workspace (operations/results.ts commandOutput). */
export function commandPayload(command: string, result: ExecResult, executionMode: string) {
  return {
    command,
    exit_code: result.exit_code,
    stdout: result.stdout,
    stderr: result.stderr,
    duration_ms: result.duration_ms,
    timed_out: result.timed_out,
    stdout_truncated: result.stdout_truncated,
    stderr_truncated: result.stderr_truncated,
    execution_mode: executionMode,
  };
}
