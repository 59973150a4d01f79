import { z } from "zod";

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
const nullableString = z.string().nullable();

export const vmResult = z.object({
  vm_id: z.string(),
  state: VmRecordSchema.shape.state,
  ...SandboxCommonSchema.shape,
  network_enabled: z.boolean(),
  guest_ip: nullableString,
});

/** What a command run returns, in a VM or a workspace. */
export const commandOutput = {
  ...CommandLogEntrySchema.pick({ command: true, stdout: true, stderr: true, duration_ms: true })
    .shape,
  exit_code: z.number().int().describe("The command's exit status; 124 when it timed out."),
  timed_out: z.boolean(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  execution_mode: z.string(),
};

/** A command log entry as returned: the truncation flags older entries lack are filled in. */
export const commandLogEntryResult = CommandLogEntrySchema.extend({
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
});

export const workspaceResult = z.object({
  workspace_id: z.string(),
  state: WorkspaceRecordSchema.shape.state,
  workspace_path: z.string(),
  ...SandboxCommonSchema.shape,
  network_enabled: z.boolean(),
  // passed through from the record as stored
  ...WorkspaceRecordSchema.pick({
    workspace_seed: true,
    command_count: true,
    last_command: true,
    reset_count: true,
  }).shape,
  workspace_reset: WorkspaceResetSchema.loose().nullable(),
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
