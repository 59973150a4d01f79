import { z } from "zod";

import { LastCommandSchema, WorkspaceSeedSchema } from "../store/records.js";

/**
 * Output schemas shared by several operations. They are closed (the JSON schema says
 * additionalProperties: false) on purpose: MCP clients validate results against them, so a
 * field added to a result without being declared here fails the MCP tests instead of
 * shipping undocumented.
 */
const nullableString = z.string().nullable();

export const vmResult = z.object({
  vm_id: z.string(),
  environment: z.string(),
  state: z.enum(["created", "started", "stopped"]),
  backend: z.string(),
  execution_mode: z.string(),
  vcpu_count: z.number().int(),
  mem_mib: z.number().int(),
  ttl_seconds: z.number().int(),
  network_enabled: z.boolean(),
  guest_ip: nullableString,
  allow_host_compat: z.boolean(),
  created_at: z.number(),
  expires_at: z.number(),
  last_error: nullableString,
});

/** What a command run returns, in a VM or a workspace. */
export const commandOutput = {
  command: z.string(),
  exit_code: z.number().int().describe("The command's exit status; 124 when it timed out."),
  stdout: z.string(),
  stderr: z.string(),
  duration_ms: z.number(),
  timed_out: z.boolean(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  execution_mode: z.string(),
};

export const workspaceResult = z.object({
  workspace_id: z.string(),
  environment: z.string(),
  state: z.enum(["started", "stopped", "resetting"]),
  workspace_path: z.string(),
  workspace_seed: WorkspaceSeedSchema, // passed through from the record as stored
  backend: z.string(),
  execution_mode: z.string(),
  vcpu_count: z.number().int(),
  mem_mib: z.number().int(),
  ttl_seconds: z.number().int(),
  network_enabled: z.boolean(),
  allow_host_compat: z.boolean(),
  created_at: z.number(),
  expires_at: z.number(),
  command_count: z.number().int(),
  last_command: LastCommandSchema.nullable(), // passed through from the record as stored
  reset_count: z.number().int(),
  workspace_reset: z.looseObject({ snapshot_name: z.string(), reset_at: z.number() }).nullable(),
  last_error: nullableString,
  service_count: z.number().int(),
  running_service_count: z.number().int(),
});

export const snapshotInfo = z.object({
  snapshot_name: z.string(),
  kind: z.enum(["baseline", "named"]),
  created_at: z.number(),
  size_bytes: z.number().int(),
  entry_count: z.number().int().nullable(),
});

export const shellResult = z.object({
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
});

export const serviceResult = z.object({
  workspace_id: z.string(),
  service_name: z.string(),
  state: z.enum(["starting", "running", "exited", "stopped", "failed"]),
  command: z.string(),
  cwd: z.string(),
  readiness: z.record(z.string(), z.unknown()).nullable(),
  pid: z.number().int(),
  started_at: z.number(),
  ready_at: z.number().nullable(),
  ended_at: z.number().nullable(),
  exit_code: z.number().int().nullable(),
  exit_signal: nullableString,
  stop_reason: nullableString,
  failure_reason: nullableString,
  execution_mode: z.string(),
});

// ---- renderings (short, human; the structured result carries everything) ---------------

/** stdout and stderr of a command, then one line with its exit status. */
export function renderCommand(result: {
  exit_code: number;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
}): string {
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

export function renderWorkspace(workspace: z.output<typeof workspaceResult>): string {
  const lines = [
    `workspace ${workspace.workspace_id} ${workspace.state} (${workspace.environment}, ${workspace.backend}, ${workspace.execution_mode})`,
    `commands ${workspace.command_count}, resets ${workspace.reset_count}, services ${workspace.running_service_count}/${workspace.service_count} running`,
    `expires ${new Date(workspace.expires_at * 1000).toISOString()}`,
  ];
  if (workspace.last_error) lines.push(`last error: ${workspace.last_error}`);
  return lines.join("\n");
}

export function renderVm(vm: z.output<typeof vmResult>): string {
  const error = vm.last_error ? `\nlast error: ${vm.last_error}` : "";
  return `vm ${vm.vm_id} ${vm.state} (${vm.environment}, ${vm.backend}, ${vm.execution_mode})${error}`;
}

export function renderShell(shell: z.output<typeof shellResult>): string {
  const exit = shell.exit_code === null ? "" : ` exit_code ${shell.exit_code}`;
  return `shell ${shell.shell_id} ${shell.state}${exit} (cwd ${shell.cwd}, ${shell.cols}x${shell.rows})`;
}

export function renderService(service: z.output<typeof serviceResult>): string {
  const reason = service.failure_reason ?? service.stop_reason;
  return `service ${service.service_name} ${service.state}${reason ? ` (${reason})` : ""}: ${service.command}`;
}
