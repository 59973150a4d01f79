import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { NETWORK_POLICIES } from "../shared/network-policy.js";
import {
  CommandLogEntrySchema,
  SandboxCommonSchema,
  ServiceSchema,
  VmRecordSchema,
  WorkspaceRecordSchema,
  WorkspaceResetSchema,
  type CommandLogEntry,
} from "../store/records.js";

/**
 * Output schemas shared by several operations. They are closed (the JSON schema says
 * additionalProperties: false) on purpose: MCP clients validate results against them, so a
 * field added to a result without being declared here fails the MCP tests instead of
 * shipping undocumented.
 */
const nullableString = lazy(() => z.string().nullable());
// Each field is defined once, in the record schemas (src/store/records.ts); the order here
// is the order of the contract (docs/contract.md is generated from it).
const sandbox = () => SandboxCommonSchema().shape;
const logEntry = () => CommandLogEntrySchema().shape;
const workspace = () => WorkspaceRecordSchema().shape;

const networkResult = lazy(() => ({
  network_policy: z
    .enum(NETWORK_POLICIES)
    .describe("off (no network device), egress, or egress+published-ports."),
  host_network_shared: z
    .boolean()
    .describe(
      "True on the host backend: its commands are host processes using the host's network, whatever the policy says.",
    ),
}));

export const vmResult = lazy(() =>
  z.object({
    vm_id: z.string(),
    environment: sandbox().environment,
    state: VmRecordSchema().shape.state,
    backend: sandbox().backend,
    execution_mode: sandbox().execution_mode,
    vcpu_count: sandbox().vcpu_count,
    mem_mib: sandbox().mem_mib,
    ttl_seconds: sandbox().ttl_seconds,
    network_enabled: z.boolean(),
    guest_ip: nullableString(),
    allow_host_compat: sandbox().allow_host_compat,
    created_at: sandbox().created_at,
    expires_at: sandbox().expires_at,
    last_error: sandbox().last_error,
    ...networkResult(),
  }),
);

/** What a command run returns, in a VM or a workspace. */
export const commandOutput = lazy(() => ({
  command: logEntry().command,
  exit_code: logEntry().exit_code.describe("The command's exit status; 124 when it timed out."),
  stdout: logEntry().stdout,
  stderr: logEntry().stderr,
  duration_ms: logEntry().duration_ms,
  timed_out: logEntry().timed_out,
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  execution_mode: sandbox().execution_mode,
}));

/** A command log entry as returned: the truncation flags older entries lack are filled in. */
export const commandLogEntryResult = lazy(() =>
  CommandLogEntrySchema().extend({
    stdout_truncated: z.boolean(),
    stderr_truncated: z.boolean(),
  }),
);

export const workspaceResult = lazy(() =>
  z.object({
    workspace_id: z.string(),
    environment: sandbox().environment,
    state: workspace().state,
    workspace_path: z.string(),
    workspace_seed: workspace().workspace_seed, // passed through from the record as stored
    backend: sandbox().backend,
    execution_mode: sandbox().execution_mode,
    vcpu_count: sandbox().vcpu_count,
    mem_mib: sandbox().mem_mib,
    ttl_seconds: sandbox().ttl_seconds,
    network_enabled: z.boolean(),
    allow_host_compat: sandbox().allow_host_compat,
    created_at: sandbox().created_at,
    expires_at: sandbox().expires_at,
    command_count: workspace().command_count,
    last_command: workspace().last_command, // passed through from the record as stored
    reset_count: workspace().reset_count,
    workspace_reset: WorkspaceResetSchema().loose().nullable(),
    last_error: sandbox().last_error,
    service_count: z.number().int(),
    running_service_count: z.number().int(),
    secrets: z
      .array(z.object({ name: z.string(), source_kind: z.enum(["literal", "file"]) }))
      .describe(
        "The workspace's secrets: names and where each value came from, never the values (see docs/secrets.md).",
      ),
    name: z.string().nullable().describe("The workspace's unique name, usable wherever its id is."),
    labels: z.record(z.string(), z.string()),
    last_activity_at: z
      .number()
      .describe("Last operation on the workspace (or running command, shell or service)."),
    idle_expires_at: z.number().describe("last_activity_at + ttl_seconds (the idle timeout)."),
    hard_expires_at: z
      .number()
      .nullable()
      .describe("Expiry whatever the activity (max_lifetime_seconds), or null."),
    expires_in_seconds: z
      .number()
      .int()
      .describe("Seconds until expires_at, the earlier of idle_expires_at and hard_expires_at."),
    stopped_at: z.number().nullable().describe("When workspace_stop stopped it (null if started)."),
    ...networkResult(),
    allow_hosts: z
      .array(z.string())
      .describe("Hosts the guest may reach (empty: any public host); see docs/networking.md."),
    forked_from: z
      .object({ workspace_id: z.string(), snapshot_name: z.string().nullable() })
      .nullable()
      .describe("workspace_fork's source and snapshot (null: forked as it was then), else null."),
  }),
);

export const snapshotInfo = lazy(() =>
  z.object({
    snapshot_name: z.string(),
    kind: z.enum(["baseline", "named"]),
    created_at: z.number(),
    size_bytes: z.number().int(),
    entry_count: z.number().int().nullable(),
  }),
);

export const shellResult = lazy(() =>
  z.object({
    workspace_id: z.string(),
    shell_id: z.string(),
    state: z.enum(["running", "exited"]),
    cwd: z.string(),
    cols: z.number().int(),
    rows: z.number().int(),
    pid: z.number().int(),
    started_at: z.number(),
    ended_at: z.number().nullable(),
    exit_code: z.number().int().nullable(),
    execution_mode: z.string(),
  }),
);

export const serviceResult = ServiceSchema;

// ---- renderings (short, human; the structured result carries everything) ---------------

/** stdout and stderr of a command, then one line with its exit status. */
export function renderCommand(
  result: Pick<CommandLogEntry, "exit_code" | "stdout" | "stderr" | "duration_ms" | "timed_out">,
): string {
  const parts: string[] = [];
  if (result.stdout) parts.push(withNewline(result.stdout));
  if (result.stderr) parts.push(`[stderr]\n${withNewline(result.stderr)}`);
  const timedOut = result.timed_out ? ", timed out" : "";
  parts.push(`exit_code ${result.exit_code} (${Math.round(result.duration_ms)} ms${timedOut})`);
  return parts.join("");
}

export function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

export function renderWorkspace(workspace: z.output<ReturnType<typeof workspaceResult>>): string {
  const lines = [
    `workspace ${workspace.workspace_id} ${workspace.state} (${workspace.environment}, ${workspace.backend}, ${workspace.execution_mode})`,
    `commands ${workspace.command_count}, resets ${workspace.reset_count}, services ${workspace.running_service_count}/${workspace.service_count} running`,
    `expires ${new Date(workspace.expires_at * 1000).toISOString()} (in ${workspace.expires_in_seconds} s; idle timeout ${workspace.ttl_seconds} s${workspace.hard_expires_at === null ? "" : `, hard expiry ${new Date(workspace.hard_expires_at * 1000).toISOString()}`})`,
    `network ${workspace.network_policy}${workspace.network_policy === "off" ? "" : `, allow_hosts: ${workspace.allow_hosts.join(" ") || "any public host"}`}${workspace.host_network_shared ? " (host backend: commands share the host's network)" : ""}`,
  ];
  if (workspace.name !== null) lines.splice(1, 0, `name ${workspace.name}`);
  const labels = Object.entries(workspace.labels);
  if (labels.length > 0) {
    lines.push(`labels ${labels.map(([key, value]) => `${key}=${value}`).join(" ")}`);
  }
  if (workspace.last_error) lines.push(`last error: ${workspace.last_error}`);
  return lines.join("\n");
}

export function renderVm(vm: z.output<ReturnType<typeof vmResult>>): string {
  const error = vm.last_error ? `\nlast error: ${vm.last_error}` : "";
  return `vm ${vm.vm_id} ${vm.state} (${vm.environment}, ${vm.backend}, ${vm.execution_mode})${error}`;
}

export function renderShell(shell: z.output<ReturnType<typeof shellResult>>): string {
  const exit = shell.exit_code === null ? "" : ` exit_code ${shell.exit_code}`;
  return `shell ${shell.shell_id} ${shell.state}${exit} (cwd ${shell.cwd}, ${shell.cols}x${shell.rows})`;
}

export function renderService(service: z.output<ReturnType<typeof serviceResult>>): string {
  const reason = service.failure_reason ?? service.stop_reason;
  const ports = (service.published_ports ?? [])
    .map((port) => `\n  published ${port.host}:${port.host_port} -> guest port ${port.guest_port}`)
    .join("");
  return `service ${service.service_name} ${service.state}${reason ? ` (${reason})` : ""}: ${service.command}${ports}`;
}

/** A changed path's status in workspace_diff (and workspace_summary's changes). */
export const diffStatus = lazy(() =>
  z.enum(["added", "modified", "deleted", "type_changed", "mode_changed"]),
);

/** workspace_diff's counts, which workspace_summary repeats. */
export const diffSummary = lazy(() =>
  z.object({
    total: z.number().int(),
    added: z.number().int(),
    modified: z.number().int(),
    deleted: z.number().int(),
    type_changed: z.number().int(),
    mode_changed: z.number().int(),
    text_patched: z.number().int(),
    non_text: z.number().int(),
  }),
);
