// Generated from the operation catalogue by scripts/sdk-types.ts: do not edit.
// Regenerate with `UPDATE_TYPES=1 npx vitest run test/sdk-types.test.ts`.
/* eslint-disable @typescript-eslint/no-empty-object-type -- an operation without input has {} */
import type { CallOptions } from "./options.js";

/** Where sandboxes run: `auto` picks per sandbox; `mock` is an alias of `host`. */
export const BACKEND_CHOICES = ["qemu", "firecracker", "host", "mock", "auto"] as const;
export type BackendName = (typeof BACKEND_CHOICES)[number];
/** The environments pyro knows (`pyro env list`). */
export type EnvironmentName = "debian:12" | "debian:12-base" | "debian:12-build";
/** The signals a shell accepts (shell_signal). */
export type ShellSignal = "HUP" | "INT" | "TERM" | "KILL";

/**
 * Every catalogue operation by MCP tool name: its SDK method name, input and result.
 */
export interface PyroOperations {
  /**
   * listEnvironments: List the environments a VM or workspace can be created from, whether each is pulled into the environment cache (a real guest needs it; `pyro env pull NAME` builds it), the backend selection (`auto` picks qemu when it can boot the environment) and the cache directory.
   */
  vm_list_environments: {
    method: "listEnvironments";
    input: VmListEnvironmentsInput;
    result: VmListEnvironmentsResult;
  };
  /**
   * createVm: Create a one-shot VM in state 'created' (not booted; call vm_start). Returns the VM record with vm_id. Fails with limit_exceeded when max active VMs are running.
   */
  vm_create: {
    method: "createVm";
    input: VmCreateInput;
    result: VmCreateResult;
  };
  /**
   * startVm: Boot a VM in state 'created' or 'stopped'. Returns the VM record, now 'started'.
   */
  vm_start: {
    method: "startVm";
    input: VmStartInput;
    result: VmStartResult;
  };
  /**
   * execVm: Run one shell command in a started VM and then delete the VM (one-shot). Returns exit_code, stdout, stderr; exit_code 124 means it timed out.
   */
  vm_exec: {
    method: "execVm";
    input: VmExecInput;
    result: VmExecResult;
  };
  /**
   * stopVm: Stop a VM's sandbox, keeping its record (state 'stopped'; vm_start boots it again).
   */
  vm_stop: {
    method: "stopVm";
    input: VmStopInput;
    result: VmStopResult;
  };
  /**
   * deleteVm: Stop a VM and delete its record. Returns {vm_id, deleted: true}.
   */
  vm_delete: {
    method: "deleteVm";
    input: VmDeleteInput;
    result: VmDeleteResult;
  };
  /**
   * statusVm: Show a VM's record and state (created, started, stopped). An expired VM is deleted and reported as expired.
   */
  vm_status: {
    method: "statusVm";
    input: VmStatusInput;
    result: VmStatusResult;
  };
  /**
   * networkInfoVm: Show a VM's network configuration (guest_ip, tap_name, mac_address; null when off).
   */
  vm_network_info: {
    method: "networkInfoVm";
    input: VmNetworkInfoInput;
    result: VmNetworkInfoResult;
  };
  /**
   * reapExpired: Delete expired VMs and workspaces, and state directories whose record is corrupt. Returns the ids removed.
   */
  vm_reap_expired: {
    method: "reapExpired";
    input: VmReapExpiredInput;
    result: VmReapExpiredResult;
  };
  /**
   * runInVm: Create a VM, run one shell command in it and delete it, even on failure. Returns exit_code, stdout, stderr; exit_code 124 means it timed out.
   */
  vm_run: {
    method: "runInVm";
    input: VmRunInput;
    result: VmRunResult;
  };
  /**
   * createWorkspace: Create a persistent workspace: boot a sandbox, seed /workspace from seed_path (a host directory or .tar/.tar.gz/.tgz archive; empty without one) and store that tree as the immutable baseline for diff and reset. Returns the workspace record with workspace_id.
   */
  workspace_create: {
    method: "createWorkspace";
    input: WorkspaceCreateInput;
    result: WorkspaceCreateResult;
  };
  /**
   * execWorkspace: Run a shell command in a started workspace, in /workspace or a cwd under it, and record it in the command log. Returns exit_code, stdout, stderr and its sequence number; exit_code 124 means it timed out, 130 that it was cancelled. A command still running after wait_seconds (over MCP by default 50 s) is left running in the background: the result then has state 'running', command_id and the output so far; follow it with command_read, command_wait or command_kill.
   */
  workspace_exec: {
    method: "execWorkspace";
    input: WorkspaceExecInput;
    result: WorkspaceExecResult;
  };
  /**
   * statusWorkspace: Show a workspace's record: state, command_count and last_command, reset_count and workspace_reset, service counts, expiry and last_error.
   */
  workspace_status: {
    method: "statusWorkspace";
    input: WorkspaceStatusInput;
    result: WorkspaceStatusResult;
  };
  /**
   * logsWorkspace: Show the workspace's command log since its creation or last reset: each exec with its exit_code, stdout and stderr (the log keeps at most 64 KiB of each, with stdout_truncated/stderr_truncated set, and about the last 16 MiB of entries; dropped_count says how many older ones rotation dropped). Page with tail (last N entries) or after_sequence + limit (pass next_after_sequence back while has_more).
   */
  workspace_logs: {
    method: "logsWorkspace";
    input: WorkspaceLogsInput;
    result: WorkspaceLogsResult;
  };
  /**
   * pushWorkspaceSync: Copy a host directory or .tar/.tar.gz/.tgz archive into a started workspace under dest (default /workspace; a dest outside /workspace is refused). Unsafe archive members are refused before anything is written.
   */
  workspace_sync_push: {
    method: "pushWorkspaceSync";
    input: WorkspaceSyncPushInput;
    result: WorkspaceSyncPushResult;
  };
  /**
   * diffWorkspace: Compare a started workspace's /workspace with its creation baseline. Returns changed, a summary of counts, entries (path, status, artifact_type, text_patch, old_mode, new_mode) and a unified patch. A file whose permission bits alone changed is mode_changed; a modified file whose mode changed too has old_mode/new_mode set; both get git's old mode/new mode lines in the patch.
   */
  workspace_diff: {
    method: "diffWorkspace";
    input: WorkspaceDiffInput;
    result: WorkspaceDiffResult;
  };
  /**
   * exportWorkspace: Copy one file or directory from under /workspace of a started workspace to a host output_path that must not exist yet. Symlinks and empty directories survive.
   */
  workspace_export: {
    method: "exportWorkspace";
    input: WorkspaceExportInput;
    result: WorkspaceExportResult;
  };
  /**
   * createSnapshot: Save a started workspace's current /workspace tree as a named snapshot that workspace_reset can restore. The name 'baseline' is reserved.
   */
  snapshot_create: {
    method: "createSnapshot";
    input: SnapshotCreateInput;
    result: SnapshotCreateResult;
  };
  /**
   * listSnapshots: List a workspace's snapshots, the baseline first, then named ones by age.
   */
  snapshot_list: {
    method: "listSnapshots";
    input: SnapshotListInput;
    result: SnapshotListResult;
  };
  /**
   * deleteSnapshot: Delete a named snapshot. The baseline cannot be deleted.
   */
  snapshot_delete: {
    method: "deleteSnapshot";
    input: SnapshotDeleteInput;
    result: SnapshotDeleteResult;
  };
  /**
   * resetWorkspace: Destroy the workspace's sandbox, boot a fresh one and restore /workspace from a snapshot (default baseline). Clears the command log, shells and services; keeps the id, baseline and snapshots; reset_count goes up by one. Also repairs a stopped workspace.
   */
  workspace_reset: {
    method: "resetWorkspace";
    input: WorkspaceResetInput;
    result: WorkspaceResetResult;
  };
  /**
   * deleteWorkspace: Stop the workspace's sandbox, services and shells and delete the workspace with its baseline and snapshots.
   */
  workspace_delete: {
    method: "deleteWorkspace";
    input: WorkspaceDeleteInput;
    result: WorkspaceDeleteResult;
  };
  /**
   * summarizeWorkspace: Review a workspace since its creation or last reset, in one bounded result: the newest 20 commands with exit codes (and how many more), commands still running, what changed under /workspace (diff counts and up to 50 paths; needs a started workspace), named snapshots, services, and the journal of syncs, exports, snapshot and service changes. For a model or a person coming back to a workspace.
   */
  workspace_summary: {
    method: "summarizeWorkspace";
    input: WorkspaceSummaryInput;
    result: WorkspaceSummaryResult;
  };
  /**
   * networkLogWorkspace: Show the connections a workspace's guest was refused by its network policy (or could not make): host, port, reason and time, oldest first. The log outlives resets and keeps about the last 256-512 KiB of entries. Use it to see why a download or `npm install` failed.
   */
  workspace_network_log: {
    method: "networkLogWorkspace";
    input: WorkspaceNetworkLogInput;
    result: WorkspaceNetworkLogResult;
  };
  /**
   * openShell: Open a persistent PTY shell (bash) in a started workspace (default cwd /workspace, 120x30). Returns shell_id; any process can then write to and read from it.
   */
  shell_open: {
    method: "openShell";
    input: ShellOpenInput;
    result: ShellOpenResult;
  };
  /**
   * readShell: Read a shell's output from a cursor (default 0). Returns output and next_cursor: pass next_cursor to the next read to get only new output. With wait_seconds, a read with no new output waits up to that long for some (or for the shell to exit). For a model: plain: true and wait_for_idle_ms: 300 return a command's whole output as readable text.
   */
  shell_read: {
    method: "readShell";
    input: ShellReadInput;
    result: ShellReadResult;
  };
  /**
   * writeShell: Type input into a running shell, followed by a newline unless append_newline is false. Read the output with shell_read.
   */
  shell_write: {
    method: "writeShell";
    input: ShellWriteInput;
    result: ShellWriteResult;
  };
  /**
   * signalShell: Send HUP, INT (default, like Ctrl-C), TERM or KILL to the shell's foreground job, e.g. to stop a command that does not finish.
   */
  shell_signal: {
    method: "signalShell";
    input: ShellSignalInput;
    result: ShellSignalResult;
  };
  /**
   * closeShell: Close a shell and end everything started in it. Returns {closed: true}.
   */
  shell_close: {
    method: "closeShell";
    input: ShellCloseInput;
    result: ShellCloseResult;
  };
  /**
   * resizeShell: Set a shell's terminal size (columns and rows; an omitted one is kept). The job in its foreground gets SIGWINCH, as from a resized terminal window.
   */
  shell_resize: {
    method: "resizeShell";
    input: ShellResizeInput;
    result: ShellResizeResult;
  };
  /**
   * startService: Start a named long-running command (a server, a watcher) in a started workspace. With readiness (file, tcp, http or command) the call returns once it is ready (state running) or has failed (exited or timed out first).
   */
  service_start: {
    method: "startService";
    input: ServiceStartInput;
    result: ServiceStartResult;
  };
  /**
   * listServices: List the workspace's services with their states (starting, running, exited, stopped, failed).
   */
  service_list: {
    method: "listServices";
    input: ServiceListInput;
    result: ServiceListResult;
  };
  /**
   * statusService: Show one service: state, pid, started_at, ready_at, ended_at, exit_code, stop_reason and failure_reason.
   */
  service_status: {
    method: "statusService";
    input: ServiceStatusInput;
    result: ServiceStatusResult;
  };
  /**
   * logsService: Show a service's stdout and stderr (last 200 lines by default, tail_lines or all for more). Needs a started workspace.
   */
  service_logs: {
    method: "logsService";
    input: ServiceLogsInput;
    result: ServiceLogsResult;
  };
  /**
   * stopService: Stop a service: SIGTERM to its processes, SIGKILL after a grace period; records stop_reason.
   */
  service_stop: {
    method: "stopService";
    input: ServiceStopInput;
    result: ServiceStopResult;
  };
  /**
   * statusCommand: Show a command started by workspace_exec (state, exit_code once exited, sequence once logged) without its output.
   */
  command_status: {
    method: "statusCommand";
    input: CommandStatusInput;
    result: CommandStatusResult;
  };
  /**
   * readCommand: Read a command's stdout and stderr from cursors (default 0), like shell_read: pass next_stdout_cursor and next_stderr_cursor back to get only new output. wait_seconds blocks until there is new output or the command ends.
   */
  command_read: {
    method: "readCommand";
    input: CommandReadInput;
    result: CommandReadResult;
  };
  /**
   * waitCommand: Wait up to wait_seconds for a command to end. Once it has, returns what a finished workspace_exec returns (exit_code, stdout, stderr, sequence); else state running.
   */
  command_wait: {
    method: "waitCommand";
    input: CommandWaitInput;
    result: CommandWaitResult;
  };
  /**
   * killCommand: Kill a running command and everything it started; it is logged with exit_code 130 and cancelled: true. Returns its result.
   */
  command_kill: {
    method: "killCommand";
    input: CommandKillInput;
    result: CommandKillResult;
  };
  /**
   * listCommands: List the workspace's recent commands (running ones and the last finished ones), oldest first.
   */
  command_list: {
    method: "listCommands";
    input: CommandListInput;
    result: CommandListResult;
  };
  /**
   * listWorkspaceFiles: List a directory under /workspace of a started workspace (or describe one file): each entry's path, type (file, directory, symlink, other), size_bytes, mode and mtime; symlinks are shown with their target, never followed. recursive walks subdirectories. At most 1000 entries; truncated says there are more.
   */
  workspace_file_list: {
    method: "listWorkspaceFiles";
    input: WorkspaceFileListInput;
    result: WorkspaceFileListResult;
  };
  /**
   * readWorkspaceFile: Read a regular file under /workspace of a started workspace, up to max_bytes (default 65536, at most 1048576). content is UTF-8 text when the file is text, base64 when it is binary (encoding says which); truncated says the file is longer. Symlinks are refused, never followed.
   */
  workspace_file_read: {
    method: "readWorkspaceFile";
    input: WorkspaceFileReadInput;
    result: WorkspaceFileReadResult;
  };
  /**
   * writeWorkspaceFile: Write a whole file under /workspace of a started workspace, creating missing parent directories. text is the content (UTF-8), or base64 of it with encoding 'base64' (binary files); at most 4194304 bytes. The file is replaced atomically (a temp file renamed over it); a symlink or directory in its place is refused, never followed. mode sets the permission bits (default: kept, 0644 for a new file).
   */
  workspace_file_write: {
    method: "writeWorkspaceFile";
    input: WorkspaceFileWriteInput;
    result: WorkspaceFileWriteResult;
  };
  /**
   * applyWorkspacePatch: Apply a unified diff (as git diff or diff -u write it; a/ and b/ prefixes, new files from /dev/null and deleted files to /dev/null) to files under /workspace of a started workspace. All or nothing: every hunk of every file is checked first, and if any does not apply nothing changes and the error lists each file with what failed. Text files only, at most 1048576 bytes of patch and 256 files.
   */
  workspace_patch_apply: {
    method: "applyWorkspacePatch";
    input: WorkspacePatchApplyInput;
    result: WorkspacePatchApplyResult;
  };
  /**
   * exportWorkspaceDisk: Copy a stopped guest-backed workspace's whole disk (its root filesystem with /workspace) to a host output_path that must not exist yet, as a raw ext4 image, without booting it. Runtime-only guest paths (/run/pyro-secrets, /run/pyro-shells, /run/pyro-services) are scrubbed from the copy first; the workspace's own disk is never changed. Refused for a running or host-backend workspace.
   */
  workspace_disk_export: {
    method: "exportWorkspaceDisk";
    input: WorkspaceDiskExportInput;
    result: WorkspaceDiskExportResult;
  };
  /**
   * listWorkspaceDisk: List a directory under /workspace on a stopped guest-backed workspace's disk, without booting it: entries as workspace_file_list gives them (symlinks never followed; at most 1000, truncated says more). Refused for a running or host-backend workspace.
   */
  workspace_disk_list: {
    method: "listWorkspaceDisk";
    input: WorkspaceDiskListInput;
    result: WorkspaceDiskListResult;
  };
  /**
   * readWorkspaceDisk: Read a regular file under /workspace on a stopped guest-backed workspace's disk, without booting it, up to max_bytes (default 65536, at most 1048576); content and encoding as workspace_file_read gives them. Refused for a running or host-backend workspace.
   */
  workspace_disk_read: {
    method: "readWorkspaceDisk";
    input: WorkspaceDiskReadInput;
    result: WorkspaceDiskReadResult;
  };
  /**
   * stopWorkspace: Stop a workspace's sandbox without losing anything: running commands are killed (and logged as cancelled), services stopped (stop_reason workspace_stopped), shells closed, the guest's filesystem flushed; /workspace, snapshots and the command log stay. A stopped workspace holds no VM; workspace_start boots it again on the same /workspace. While stopped, workspace_status, workspace_logs, workspace_list, workspace_update, snapshot_list/snapshot_delete, service_list/service_status, workspace_reset and workspace_delete work; other operations answer invalid_state naming workspace_start. Stopping a stopped workspace changes nothing.
   */
  workspace_stop: {
    method: "stopWorkspace";
    input: WorkspaceStopInput;
    result: WorkspaceStopResult;
  };
  /**
   * startWorkspace: Boot a stopped workspace again on its kept /workspace (no reset: files, command log, snapshots and reset_count are unchanged; services and shells do not come back). Starting a started workspace changes nothing.
   */
  workspace_start: {
    method: "startWorkspace";
    input: WorkspaceStartInput;
    result: WorkspaceStartResult;
  };
  /**
   * listWorkspaces: List workspaces, most recently active first (last_activity_at), with name, labels, state, expiry, service counts and size on disk. Filter by labels (every given KEY: VALUE must match) and state. Expired workspaces are collected first.
   */
  workspace_list: {
    method: "listWorkspaces";
    input: WorkspaceListInput;
    result: WorkspaceListResult;
  };
  /**
   * updateWorkspace: Change a workspace's name, labels and expiry: set name (unique; null removes it), set labels, clear_labels (keys), ttl_seconds (the idle timeout, 60-86400) and max_lifetime_seconds (hard expiry counted from creation, 60-2592000; null removes it). Every field is checked before anything changes. Works on started and stopped workspaces.
   */
  workspace_update: {
    method: "updateWorkspace";
    input: WorkspaceUpdateInput;
    result: WorkspaceUpdateResult;
  };
}
export interface VmListEnvironmentsInput {}
export interface VmListEnvironmentsResult {
  backend: string;
  cache_dir: string;
  environments: {
    name: string;
    description: string;
    installed: boolean;
    status: "installed" | "missing" | "broken" | "stale";
  }[];
}
export interface VmCreateInput {
  /**
   * Environment name: debian:12, debian:12-base or debian:12-build.
   */
  environment?: string;
  /**
   * Virtual CPUs, 1-8 (default 1).
   */
  vcpu_count?: number;
  /**
   * Memory in MiB, 128-32768 (default 1024).
   */
  mem_mib?: number;
  /**
   * Lifetime in seconds, 60-86400 (default 600).
   */
  ttl_seconds?: number;
  /**
   * Guest networking: true is network_policy egress with any public host (outbound TCP through pyro's egress proxy; guest backends only, refused on the host backend).
   */
  network?: boolean;
  /**
   * Allow running commands as plain host processes when no guest can boot (host_compat).
   */
  allow_host_compat?: boolean;
}
export interface VmCreateResult {
  vm_id: string;
  environment: string;
  state: "created" | "started" | "stopped";
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  guest_ip: string | null;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  last_error: string | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
}
export interface VmStartInput {
  /**
   * VM id returned by vm_create.
   */
  vm_id: string;
}
export interface VmStartResult {
  vm_id: string;
  environment: string;
  state: "created" | "started" | "stopped";
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  guest_ip: string | null;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  last_error: string | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
}
export interface VmExecInput {
  /**
   * VM id returned by vm_create.
   */
  vm_id: string;
  /**
   * Shell command, run with /bin/sh -c.
   */
  command: string;
  /**
   * Command timeout in seconds (default 30); on expiry exit_code is 124.
   */
  timeout_seconds?: number;
}
export interface VmExecResult {
  vm_id: string;
  environment: string;
  command: string;
  /**
   * The command's exit status; 124 when it timed out.
   */
  exit_code: number;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  execution_mode: string;
}
export interface VmStopInput {
  /**
   * VM id returned by vm_create.
   */
  vm_id: string;
}
export interface VmStopResult {
  vm_id: string;
  environment: string;
  state: "created" | "started" | "stopped";
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  guest_ip: string | null;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  last_error: string | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
}
export interface VmDeleteInput {
  /**
   * VM id returned by vm_create.
   */
  vm_id: string;
}
export interface VmDeleteResult {
  vm_id: string;
  deleted: boolean;
}
export interface VmStatusInput {
  /**
   * VM id returned by vm_create.
   */
  vm_id: string;
}
export interface VmStatusResult {
  vm_id: string;
  environment: string;
  state: "created" | "started" | "stopped";
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  guest_ip: string | null;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  last_error: string | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
}
export interface VmNetworkInfoInput {
  /**
   * VM id returned by vm_create.
   */
  vm_id: string;
}
export interface VmNetworkInfoResult {
  vm_id: string;
  network_enabled: boolean;
  guest_ip: string | null;
  tap_name: string | null;
  mac_address: string | null;
}
export interface VmReapExpiredInput {}
export interface VmReapExpiredResult {
  count: number;
  vm_ids: string[];
  workspace_ids: string[];
}
export interface VmRunInput {
  /**
   * Environment name: debian:12, debian:12-base or debian:12-build.
   */
  environment?: string;
  /**
   * Virtual CPUs, 1-8 (default 1).
   */
  vcpu_count?: number;
  /**
   * Memory in MiB, 128-32768 (default 1024).
   */
  mem_mib?: number;
  /**
   * Lifetime in seconds, 60-86400 (default 600).
   */
  ttl_seconds?: number;
  /**
   * Guest networking: true is network_policy egress with any public host (outbound TCP through pyro's egress proxy; guest backends only, refused on the host backend).
   */
  network?: boolean;
  /**
   * Allow running commands as plain host processes when no guest can boot (host_compat).
   */
  allow_host_compat?: boolean;
  /**
   * Shell command, run with /bin/sh -c.
   */
  command: string;
  /**
   * Command timeout in seconds (default 30); on expiry exit_code is 124.
   */
  timeout_seconds?: number;
}
export interface VmRunResult {
  vm_id: string;
  environment: string;
  command: string;
  /**
   * The command's exit status; 124 when it timed out.
   */
  exit_code: number;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  execution_mode: string;
}
export interface WorkspaceCreateInput {
  /**
   * Environment name: debian:12, debian:12-base or debian:12-build.
   */
  environment?: string;
  /**
   * Virtual CPUs, 1-8 (default 1).
   */
  vcpu_count?: number;
  /**
   * Memory in MiB, 128-32768 (default 1024).
   */
  mem_mib?: number;
  /**
   * Idle timeout in seconds, 60-86400 (default 600), from the last activity.
   */
  ttl_seconds?: number;
  /**
   * Guest networking: true is network_policy egress with any public host (outbound TCP through pyro's egress proxy; guest backends only, refused on the host backend).
   */
  network?: boolean;
  /**
   * Allow running commands as plain host processes when no guest can boot (host_compat).
   */
  allow_host_compat?: boolean;
  /**
   * Host directory or archive to seed /workspace from.
   */
  seed_path?: string;
  /**
   * Secrets (create-time only): {name, value} or {name, file_path} (a host UTF-8 file). Names match ^[A-Za-z_][A-Za-z0-9_]{0,63}$; at most 32, 8 KiB each, 64 KiB in all. In the sandbox as files /run/pyro-secrets/NAME; given to commands only through secret_env; values are never stored in the record or logs and are redacted from output.
   */
  secrets?: (
    | {
        name: string;
        value: string;
      }
    | {
        name: string;
        file_path: string;
      }
  )[];
  /**
   * Unique name, usable wherever the id is: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, not 12 hex digits.
   */
  name?: string;
  /**
   * Labels as {KEY: VALUE} (keys 1-63 letters, digits, '.', '_', '/' or '-'; values up to 256 characters; at most 32).
   */
  labels?: {
    [k: string]: string;
  };
  /**
   * Hard expiry in seconds counted from creation, 60-2592000, whatever the activity (default none).
   */
  max_lifetime_seconds?: number;
  /**
   * off (default): no network device; egress: outbound TCP through pyro's egress proxy, limited by allow_hosts; egress+published-ports: also service_start published_ports. Guest backends only.
   */
  network_policy?: "off" | "egress" | "egress+published-ports";
  /**
   * Hosts the guest may reach (PATTERN[:PORT]: exact names, *.example.org wildcards, IP literals; host.pyro.internal:PORT is the host's loopback on that port). Empty or omitted: any public host. Needs network_policy egress.
   */
  allow_hosts?: string[];
}
export interface WorkspaceCreateResult {
  workspace_id: string;
  environment: string;
  state: "started" | "stopped" | "resetting" | "stopping" | "starting";
  workspace_path: string;
  workspace_seed: {
    mode: "empty" | "directory" | "tar_archive";
    seed_path: string | null;
    entry_count?: number;
    bytes_written?: number;
  };
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  command_count: number;
  last_command: {
    sequence: number;
    command: string;
    cwd: string;
    exit_code: number;
    duration_ms: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    finished_at: number;
  } | null;
  reset_count: number;
  workspace_reset: {
    snapshot_name: string;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    reset_at: number;
    [k: string]: unknown;
  } | null;
  last_error: string | null;
  service_count: number;
  running_service_count: number;
  /**
   * The workspace's secrets: names and where each value came from, never the values (see docs/secrets.md).
   */
  secrets: {
    name: string;
    source_kind: "literal" | "file";
  }[];
  /**
   * The workspace's unique name, usable wherever its id is.
   */
  name: string | null;
  labels: {
    [k: string]: string;
  };
  /**
   * Last operation on the workspace (or running command, shell or service). Unix time in seconds (UTC; may have a fraction).
   */
  last_activity_at: number;
  /**
   * last_activity_at + ttl_seconds (the idle timeout). Unix time in seconds (UTC; may have a fraction).
   */
  idle_expires_at: number;
  /**
   * Expiry whatever the activity (max_lifetime_seconds), or null. Unix time in seconds (UTC; may have a fraction).
   */
  hard_expires_at: number | null;
  /**
   * Seconds until expires_at, the earlier of idle_expires_at and hard_expires_at.
   */
  expires_in_seconds: number;
  /**
   * When workspace_stop stopped it (null if started). Unix time in seconds (UTC; may have a fraction).
   */
  stopped_at: number | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
  /**
   * Hosts the guest may reach (empty: any public host); see docs/networking.md.
   */
  allow_hosts: string[];
}
export interface WorkspaceExecInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Shell command, run with /bin/sh -c.
   */
  command: string;
  /**
   * Command timeout in seconds (default 30); on expiry exit_code is 124.
   */
  timeout_seconds?: number;
  /**
   * Working directory under /workspace (default /workspace).
   */
  cwd?: string;
  /**
   * Return after this many seconds with state 'running' if the command has not ended; it goes on in the background (default: wait for the end; over MCP 50).
   */
  wait_seconds?: number;
  /**
   * Text given to the command on its stdin (at most 1 MiB).
   */
  stdin?: string;
  /**
   * Environment variables for the command (names like [A-Za-z_][A-Za-z0-9_]*).
   */
  env?: {
    [k: string]: string;
  };
  /**
   * Workspace secrets to put in the environment: {ENV_NAME: SECRET_NAME}. Their values are redacted as [REDACTED:NAME] from all output.
   */
  secret_env?: {
    [k: string]: string;
  };
}
export interface WorkspaceExecResult {
  workspace_id: string;
  /**
   * Position in the command log; null while running or if a reset replaced the history meanwhile.
   */
  sequence: number | null;
  cwd: string;
  command: string;
  /**
   * The command's exit status; 124 when it timed out, 130 when cancelled, null while running.
   */
  exit_code: number | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  execution_mode: string;
  /**
   * Id for command_status/read/wait/kill (null only from a sandbox started by an older pyro).
   */
  command_id: string | null;
  /**
   * running: still going (poll it); exited: finished, in the command log.
   */
  state: "running" | "exited";
  cancelled: boolean;
}
export interface WorkspaceStatusInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface WorkspaceStatusResult {
  workspace_id: string;
  environment: string;
  state: "started" | "stopped" | "resetting" | "stopping" | "starting";
  workspace_path: string;
  workspace_seed: {
    mode: "empty" | "directory" | "tar_archive";
    seed_path: string | null;
    entry_count?: number;
    bytes_written?: number;
  };
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  command_count: number;
  last_command: {
    sequence: number;
    command: string;
    cwd: string;
    exit_code: number;
    duration_ms: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    finished_at: number;
  } | null;
  reset_count: number;
  workspace_reset: {
    snapshot_name: string;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    reset_at: number;
    [k: string]: unknown;
  } | null;
  last_error: string | null;
  service_count: number;
  running_service_count: number;
  /**
   * The workspace's secrets: names and where each value came from, never the values (see docs/secrets.md).
   */
  secrets: {
    name: string;
    source_kind: "literal" | "file";
  }[];
  /**
   * The workspace's unique name, usable wherever its id is.
   */
  name: string | null;
  labels: {
    [k: string]: string;
  };
  /**
   * Last operation on the workspace (or running command, shell or service). Unix time in seconds (UTC; may have a fraction).
   */
  last_activity_at: number;
  /**
   * last_activity_at + ttl_seconds (the idle timeout). Unix time in seconds (UTC; may have a fraction).
   */
  idle_expires_at: number;
  /**
   * Expiry whatever the activity (max_lifetime_seconds), or null. Unix time in seconds (UTC; may have a fraction).
   */
  hard_expires_at: number | null;
  /**
   * Seconds until expires_at, the earlier of idle_expires_at and hard_expires_at.
   */
  expires_in_seconds: number;
  /**
   * When workspace_stop stopped it (null if started). Unix time in seconds (UTC; may have a fraction).
   */
  stopped_at: number | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
  /**
   * Hosts the guest may reach (empty: any public host); see docs/networking.md.
   */
  allow_hosts: string[];
}
export interface WorkspaceLogsInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Only the last N entries (after after_sequence, if given), 0-10000.
   */
  tail?: number;
  /**
   * Cursor: only entries with a greater sequence number (next_after_sequence of the previous page).
   */
  after_sequence?: number;
  /**
   * At most N entries, the first ones after after_sequence, 1-10000 (default all kept).
   */
  limit?: number;
}
export interface WorkspaceLogsResult {
  workspace_id: string;
  /**
   * Entries in this result.
   */
  count: number;
  entries: {
    sequence: number;
    command: string;
    cwd: string;
    exit_code: number;
    stdout: string;
    stderr: string;
    duration_ms: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    started_at: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    finished_at: number;
    timed_out: boolean;
    stdout_truncated: boolean;
    stderr_truncated: boolean;
    command_truncated?: boolean;
    command_id?: string;
    cancelled?: boolean;
  }[];
  /**
   * Entries the log still holds after after_sequence, returned or not.
   */
  total_count: number;
  /**
   * Older entries dropped by log rotation (sequence numbers before the first kept).
   */
  dropped_count: number;
  /**
   * Torn or unreadable log lines skipped (e.g. an append cut short by a crash).
   */
  skipped_corrupt_lines: number;
  /**
   * More entries follow this page.
   */
  has_more: boolean;
  /**
   * Pass as after_sequence to get the entries after this page.
   */
  next_after_sequence: number;
}
export interface WorkspaceSyncPushInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Host directory or .tar/.tar.gz/.tgz archive.
   */
  source_path: string;
  /**
   * Destination inside /workspace (default /workspace).
   */
  dest?: string;
}
export interface WorkspaceSyncPushResult {
  workspace_id: string;
  workspace_sync: {
    mode: "directory" | "tar_archive";
    source_path: string;
    destination: string;
    entry_count: number;
    bytes_written: number;
  };
}
export interface WorkspaceDiffInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface WorkspaceDiffResult {
  workspace_id: string;
  changed: boolean;
  summary: {
    total: number;
    added: number;
    modified: number;
    deleted: number;
    type_changed: number;
    mode_changed: number;
    text_patched: number;
    non_text: number;
  };
  entries: {
    path: string;
    status: "added" | "modified" | "deleted" | "type_changed" | "mode_changed";
    artifact_type: "file" | "directory" | "symlink";
    text_patch: string | null;
    old_mode: string | null;
    new_mode: string | null;
  }[];
  patch: string;
}
export interface WorkspaceExportInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Path under /workspace.
   */
  path: string;
  /**
   * Exact host path to create.
   */
  output_path: string;
}
export interface WorkspaceExportResult {
  workspace_id: string;
  workspace_path: string;
  output_path: string;
  artifact_type: "file" | "directory" | "symlink";
  entry_count: number;
}
export interface SnapshotCreateInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Snapshot name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
   */
  snapshot_name: string;
}
export interface SnapshotCreateResult {
  workspace_id: string;
  snapshot: {
    snapshot_name: string;
    kind: "baseline" | "named";
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    created_at: number;
    size_bytes: number;
    entry_count: number | null;
  };
}
export interface SnapshotListInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface SnapshotListResult {
  workspace_id: string;
  count: number;
  snapshots: {
    snapshot_name: string;
    kind: "baseline" | "named";
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    created_at: number;
    size_bytes: number;
    entry_count: number | null;
  }[];
}
export interface SnapshotDeleteInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Snapshot name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
   */
  snapshot_name: string;
}
export interface SnapshotDeleteResult {
  workspace_id: string;
  snapshot_name: string;
  deleted: boolean;
}
export interface WorkspaceResetInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Snapshot to restore (default baseline).
   */
  snapshot?: string;
}
export interface WorkspaceResetResult {
  workspace_id: string;
  environment: string;
  state: "started" | "stopped" | "resetting" | "stopping" | "starting";
  workspace_path: string;
  workspace_seed: {
    mode: "empty" | "directory" | "tar_archive";
    seed_path: string | null;
    entry_count?: number;
    bytes_written?: number;
  };
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  command_count: number;
  last_command: {
    sequence: number;
    command: string;
    cwd: string;
    exit_code: number;
    duration_ms: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    finished_at: number;
  } | null;
  reset_count: number;
  workspace_reset: {
    snapshot_name: string;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    reset_at: number;
    [k: string]: unknown;
  } | null;
  last_error: string | null;
  service_count: number;
  running_service_count: number;
  /**
   * The workspace's secrets: names and where each value came from, never the values (see docs/secrets.md).
   */
  secrets: {
    name: string;
    source_kind: "literal" | "file";
  }[];
  /**
   * The workspace's unique name, usable wherever its id is.
   */
  name: string | null;
  labels: {
    [k: string]: string;
  };
  /**
   * Last operation on the workspace (or running command, shell or service). Unix time in seconds (UTC; may have a fraction).
   */
  last_activity_at: number;
  /**
   * last_activity_at + ttl_seconds (the idle timeout). Unix time in seconds (UTC; may have a fraction).
   */
  idle_expires_at: number;
  /**
   * Expiry whatever the activity (max_lifetime_seconds), or null. Unix time in seconds (UTC; may have a fraction).
   */
  hard_expires_at: number | null;
  /**
   * Seconds until expires_at, the earlier of idle_expires_at and hard_expires_at.
   */
  expires_in_seconds: number;
  /**
   * When workspace_stop stopped it (null if started). Unix time in seconds (UTC; may have a fraction).
   */
  stopped_at: number | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
  /**
   * Hosts the guest may reach (empty: any public host); see docs/networking.md.
   */
  allow_hosts: string[];
}
export interface WorkspaceDeleteInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface WorkspaceDeleteResult {
  workspace_id: string;
  deleted: boolean;
}
export interface WorkspaceSummaryInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface WorkspaceSummaryResult {
  workspace_id: string;
  state: "started" | "stopped" | "resetting" | "stopping" | "starting";
  /**
   * What the summary covers: since creation, or since the last reset.
   */
  since: {
    kind: "created" | "reset";
    /**
     * Seconds since the epoch.
     */
    at: number;
    /**
     * The snapshot the last reset restored.
     */
    snapshot_name: string | null;
  };
  reset_count: number;
  commands: {
    /**
     * Commands in the log since `since`.
     */
    count: number;
    /**
     * Older ones log rotation dropped.
     */
    dropped_count: number;
    /**
     * Listed entries with a non-zero exit_code.
     */
    failed_count: number;
    /**
     * Older commands not listed (see workspace_logs).
     */
    omitted_count: number;
    entries: {
      sequence: number;
      /**
       * The command line, cut at 200 characters.
       */
      command: string;
      exit_code: number;
      duration_ms: number;
      timed_out: boolean;
      cancelled: boolean;
    }[];
    running: {
      command_id: string;
      command: string;
      /**
       * Unix time in seconds (UTC; may have a fraction).
       */
      started_at: number;
    }[];
  };
  changes: {
    available: boolean;
    /**
     * Why changes are unknown (e.g. not started).
     */
    reason: string | null;
    summary: {
      total: number;
      added: number;
      modified: number;
      deleted: number;
      type_changed: number;
      mode_changed: number;
      text_patched: number;
      non_text: number;
    } | null;
    files: {
      path: string;
      status: "added" | "modified" | "deleted" | "type_changed" | "mode_changed";
    }[];
    omitted_count: number;
  };
  snapshots: {
    snapshot_name: string;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    created_at: number;
  }[];
  services: {
    service_name: string;
    state: "starting" | "running" | "exited" | "stopped" | "failed";
    command: string;
  }[];
  events: {
    count: number;
    omitted_count: number;
    entries: {
      /**
       * sync_push, export, snapshot_create, snapshot_delete, ...
       */
      kind: string;
      at: number;
      detail: string;
    }[];
  };
}
export interface WorkspaceNetworkLogInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Only the last N entries, 0-10000.
   */
  tail?: number;
}
export interface WorkspaceNetworkLogResult {
  workspace_id: string;
  network_policy: "off" | "egress" | "egress+published-ports";
  allow_hosts: string[];
  /**
   * Entries in this result.
   */
  count: number;
  /**
   * Entries the log holds.
   */
  total_count: number;
  skipped_corrupt_lines: number;
  entries: {
    /**
     * Epoch seconds.
     */
    time: number;
    host: string;
    port: number;
    reason: string;
    /**
     * proxy (the egress proxy) or forward (a forwarded host.pyro.internal port).
     */
    via: string;
    action: "refused" | "failed";
  }[];
}
export interface ShellOpenInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Directory under /workspace (default /workspace).
   */
  cwd?: string;
  /**
   * Terminal columns (default 120).
   */
  cols?: number;
  /**
   * Terminal rows (default 30).
   */
  rows?: number;
  /**
   * Workspace secrets to put in the environment: {ENV_NAME: SECRET_NAME}. Their values are redacted as [REDACTED:NAME] from all output.
   */
  secret_env?: {
    [k: string]: string;
  };
}
export interface ShellOpenResult {
  workspace_id: string;
  shell_id: string;
  state: "running" | "exited";
  cwd: string;
  cols: number;
  rows: number;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  execution_mode: string;
}
export interface ShellReadInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Shell id returned by shell_open.
   */
  shell_id: string;
  /**
   * Absolute output offset (default 0).
   */
  cursor?: number;
  /**
   * Most characters to return (default 65536).
   */
  max_chars?: number;
  /**
   * With no output past cursor yet, wait up to this many seconds (0-30, default 0) for some or for the shell to exit.
   */
  wait_seconds?: number;
  /**
   * Return output as plain text: escape and control sequences removed, carriage-return overwrites and backspaces applied (default false). Cursors stay raw output offsets.
   */
  plain?: boolean;
  /**
   * Keep reading until no new output came for this many milliseconds (1-10000), the shell exits or max_chars is reached; bounded by wait_seconds, else 10 s. 300 suits a command just typed.
   */
  wait_for_idle_ms?: number;
}
export interface ShellReadResult {
  workspace_id: string;
  shell_id: string;
  state: "running" | "exited";
  cwd: string;
  cols: number;
  rows: number;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  execution_mode: string;
  output: string;
  /**
   * Where output starts (later than asked if dropped).
   */
  cursor: number;
  /**
   * Pass as cursor to the next read.
   */
  next_cursor: number;
  /**
   * More output waits after next_cursor.
   */
  truncated: boolean;
  dropped_chars: number;
  buffer_start: number;
  buffer_end: number;
}
export interface ShellWriteInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Shell id returned by shell_open.
   */
  shell_id: string;
  /**
   * Text to type.
   */
  input: string;
  /**
   * Append a newline (default true).
   */
  append_newline?: boolean;
}
export interface ShellWriteResult {
  workspace_id: string;
  shell_id: string;
  state: "running" | "exited";
  cwd: string;
  cols: number;
  rows: number;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  execution_mode: string;
  input_length: number;
  append_newline: boolean;
}
export interface ShellSignalInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Shell id returned by shell_open.
   */
  shell_id: string;
  /**
   * Signal (default INT).
   */
  signal?: "HUP" | "INT" | "TERM" | "KILL";
}
export interface ShellSignalResult {
  workspace_id: string;
  shell_id: string;
  state: "running" | "exited";
  cwd: string;
  cols: number;
  rows: number;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  execution_mode: string;
  signal: "HUP" | "INT" | "TERM" | "KILL";
  /**
   * The process group that received the signal.
   */
  target_pgid: number;
}
export interface ShellCloseInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Shell id returned by shell_open.
   */
  shell_id: string;
}
export interface ShellCloseResult {
  workspace_id: string;
  shell_id: string;
  closed: boolean;
}
export interface ShellResizeInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Shell id returned by shell_open.
   */
  shell_id: string;
  /**
   * Terminal columns (1-1000).
   */
  cols?: number;
  /**
   * Terminal rows (1-1000).
   */
  rows?: number;
}
export interface ShellResizeResult {
  workspace_id: string;
  shell_id: string;
  state: "running" | "exited";
  cwd: string;
  cols: number;
  rows: number;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  execution_mode: string;
}
export interface ServiceStartInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Service name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
   */
  service_name: string;
  /**
   * Shell command, run with /bin/sh -c.
   */
  command: string;
  /**
   * Directory under /workspace (default /workspace).
   */
  cwd?: string;
  readiness?: {
    [k: string]: unknown;
  } | null;
  /**
   * Seconds to wait for readiness (default 30).
   */
  ready_timeout_seconds?: number;
  /**
   * Milliseconds between readiness probes (default 500).
   */
  ready_interval_ms?: number;
  /**
   * Environment variables for the service (names like [A-Za-z_][A-Za-z0-9_]*).
   */
  env?: {
    [k: string]: string;
  };
  /**
   * Workspace secrets to put in the environment: {ENV_NAME: SECRET_NAME}. Their values are redacted as [REDACTED:NAME] from all output.
   */
  secret_env?: {
    [k: string]: string;
  };
  /**
   * Guest ports to publish on 127.0.0.1 of the host (only on the host's loopback), while the service runs. Needs network_policy egress+published-ports.
   */
  published_ports?: {
    /**
     * TCP port the service listens on in the guest.
     */
    guest_port: number;
    /**
     * Port on 127.0.0.1 of the host (default: a free one).
     */
    host_port?: number;
  }[];
}
export interface ServiceStartResult {
  workspace_id: string;
  service_name: string;
  state: "starting" | "running" | "exited" | "stopped" | "failed";
  command: string;
  cwd: string;
  readiness: {
    [k: string]: unknown;
  } | null;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ready_at: number | null;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  exit_signal: string | null;
  stop_reason: string | null;
  failure_reason: string | null;
  execution_mode: string;
  published_ports?: {
    guest_port: number;
    host_port: number;
    host: "127.0.0.1";
  }[];
}
export interface ServiceListInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface ServiceListResult {
  workspace_id: string;
  count: number;
  running_count: number;
  services: {
    workspace_id: string;
    service_name: string;
    state: "starting" | "running" | "exited" | "stopped" | "failed";
    command: string;
    cwd: string;
    readiness: {
      [k: string]: unknown;
    } | null;
    pid: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    started_at: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    ready_at: number | null;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    ended_at: number | null;
    exit_code: number | null;
    exit_signal: string | null;
    stop_reason: string | null;
    failure_reason: string | null;
    execution_mode: string;
    published_ports?: {
      guest_port: number;
      host_port: number;
      host: "127.0.0.1";
    }[];
  }[];
}
export interface ServiceStatusInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Service name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
   */
  service_name: string;
}
export interface ServiceStatusResult {
  workspace_id: string;
  service_name: string;
  state: "starting" | "running" | "exited" | "stopped" | "failed";
  command: string;
  cwd: string;
  readiness: {
    [k: string]: unknown;
  } | null;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ready_at: number | null;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  exit_signal: string | null;
  stop_reason: string | null;
  failure_reason: string | null;
  execution_mode: string;
  published_ports?: {
    guest_port: number;
    host_port: number;
    host: "127.0.0.1";
  }[];
}
export interface ServiceLogsInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Service name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
   */
  service_name: string;
  tail_lines?: number | null;
  /**
   * Return everything kept.
   */
  all?: boolean;
}
export interface ServiceLogsResult {
  workspace_id: string;
  service_name: string;
  state: "starting" | "running" | "exited" | "stopped" | "failed";
  command: string;
  cwd: string;
  readiness: {
    [k: string]: unknown;
  } | null;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ready_at: number | null;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  exit_signal: string | null;
  stop_reason: string | null;
  failure_reason: string | null;
  execution_mode: string;
  published_ports?: {
    guest_port: number;
    host_port: number;
    host: "127.0.0.1";
  }[];
  stdout: string;
  stderr: string;
  tail_lines: number | null;
  truncated: boolean;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
}
export interface ServiceStopInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Service name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
   */
  service_name: string;
}
export interface ServiceStopResult {
  workspace_id: string;
  service_name: string;
  state: "starting" | "running" | "exited" | "stopped" | "failed";
  command: string;
  cwd: string;
  readiness: {
    [k: string]: unknown;
  } | null;
  pid: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ready_at: number | null;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  exit_code: number | null;
  exit_signal: string | null;
  stop_reason: string | null;
  failure_reason: string | null;
  execution_mode: string;
  published_ports?: {
    guest_port: number;
    host_port: number;
    host: "127.0.0.1";
  }[];
}
export interface CommandStatusInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Command id returned by workspace_exec (command_id).
   */
  command_id: string;
}
export interface CommandStatusResult {
  command_id: string;
  command: string;
  cwd: string;
  /**
   * running: still going (poll it); exited: finished, in the command log.
   */
  state: "running" | "exited";
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  /**
   * null while running; 130 when cancelled.
   */
  exit_code: number | null;
  /**
   * Killed by command_kill or because its caller went away.
   */
  cancelled: boolean;
  timed_out: boolean;
  /**
   * Position in the command log once logged; null while running.
   */
  sequence: number | null;
  workspace_id: string;
}
export interface CommandReadInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Command id returned by workspace_exec (command_id).
   */
  command_id: string;
  /**
   * Absolute stdout offset (default 0).
   */
  stdout_cursor?: number;
  /**
   * Absolute stderr offset (default 0).
   */
  stderr_cursor?: number;
  /**
   * Most characters of each stream to return (default 65536).
   */
  max_chars?: number;
  /**
   * Block up to this long for new output or the end (default 0).
   */
  wait_seconds?: number;
}
export interface CommandReadResult {
  command_id: string;
  command: string;
  cwd: string;
  /**
   * running: still going (poll it); exited: finished, in the command log.
   */
  state: "running" | "exited";
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  started_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  ended_at: number | null;
  /**
   * null while running; 130 when cancelled.
   */
  exit_code: number | null;
  /**
   * Killed by command_kill or because its caller went away.
   */
  cancelled: boolean;
  timed_out: boolean;
  /**
   * Position in the command log once logged; null while running.
   */
  sequence: number | null;
  workspace_id: string;
  stdout: string;
  stderr: string;
  /**
   * Where stdout starts (later than asked if dropped).
   */
  stdout_cursor: number;
  stderr_cursor: number;
  /**
   * Pass as stdout_cursor to the next read.
   */
  next_stdout_cursor: number;
  /**
   * Pass as stderr_cursor to the next read.
   */
  next_stderr_cursor: number;
  /**
   * Output older than the kept 256 Ki characters, skipped.
   */
  stdout_dropped_chars: number;
  stderr_dropped_chars: number;
  /**
   * More output waits after the next cursors.
   */
  truncated: boolean;
}
export interface CommandWaitInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Command id returned by workspace_exec (command_id).
   */
  command_id: string;
  /**
   * Seconds to wait for the command to end (default 0: answer at once), at most 86400.
   */
  wait_seconds?: number;
}
export interface CommandWaitResult {
  workspace_id: string;
  /**
   * Position in the command log; null while running or if a reset replaced the history meanwhile.
   */
  sequence: number | null;
  cwd: string;
  command: string;
  /**
   * The command's exit status; 124 when it timed out, 130 when cancelled, null while running.
   */
  exit_code: number | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  execution_mode: string;
  /**
   * Id for command_status/read/wait/kill (null only from a sandbox started by an older pyro).
   */
  command_id: string | null;
  /**
   * running: still going (poll it); exited: finished, in the command log.
   */
  state: "running" | "exited";
  cancelled: boolean;
}
export interface CommandKillInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Command id returned by workspace_exec (command_id).
   */
  command_id: string;
}
export interface CommandKillResult {
  workspace_id: string;
  /**
   * Position in the command log; null while running or if a reset replaced the history meanwhile.
   */
  sequence: number | null;
  cwd: string;
  command: string;
  /**
   * The command's exit status; 124 when it timed out, 130 when cancelled, null while running.
   */
  exit_code: number | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  execution_mode: string;
  /**
   * Id for command_status/read/wait/kill (null only from a sandbox started by an older pyro).
   */
  command_id: string | null;
  /**
   * running: still going (poll it); exited: finished, in the command log.
   */
  state: "running" | "exited";
  cancelled: boolean;
}
export interface CommandListInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface CommandListResult {
  workspace_id: string;
  count: number;
  commands: {
    command_id: string;
    command: string;
    cwd: string;
    /**
     * running: still going (poll it); exited: finished, in the command log.
     */
    state: "running" | "exited";
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    started_at: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    ended_at: number | null;
    /**
     * null while running; 130 when cancelled.
     */
    exit_code: number | null;
    /**
     * Killed by command_kill or because its caller went away.
     */
    cancelled: boolean;
    timed_out: boolean;
    /**
     * Position in the command log once logged; null while running.
     */
    sequence: number | null;
  }[];
}
export interface WorkspaceFileListInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Directory or file under /workspace (default /workspace).
   */
  path?: string;
  /**
   * Also list subdirectories.
   */
  recursive?: boolean;
}
export interface WorkspaceFileListResult {
  workspace_id: string;
  path: string;
  recursive: boolean;
  count: number;
  entries: {
    /**
     * Absolute guest path (/workspace/...).
     */
    path: string;
    type: "file" | "directory" | "symlink" | "other";
    size_bytes: number;
    /**
     * Permission bits as 4 octal digits, e.g. 0644.
     */
    mode: string;
    /**
     * Modification time, seconds since the epoch.
     */
    mtime: number;
    /**
     * A symlink's target (never followed), else null.
     */
    link_target: string | null;
  }[];
  /**
   * More entries exist than the 1000 returned.
   */
  truncated: boolean;
}
export interface WorkspaceFileReadInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * File under /workspace.
   */
  path: string;
  /**
   * Read at most this many bytes, 0-1048576 (default 65536).
   */
  max_bytes?: number;
}
export interface WorkspaceFileReadResult {
  workspace_id: string;
  path: string;
  /**
   * The file's whole size.
   */
  size_bytes: number;
  max_bytes: number;
  mode: string;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  mtime: number;
  /**
   * The bytes read: UTF-8 text, or base64 (see encoding).
   */
  content: string;
  /**
   * utf8 when the bytes are text, base64 for binary (NUL bytes, not UTF-8).
   */
  encoding: "utf8" | "base64";
  /**
   * How many of the file's bytes content holds.
   */
  returned_bytes: number;
  /**
   * The file is longer than max_bytes.
   */
  truncated: boolean;
}
export interface WorkspaceFileWriteInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * File under /workspace.
   */
  path: string;
  /**
   * The file's new content (base64 of it with encoding 'base64').
   */
  text: string;
  /**
   * How text is encoded (default utf8).
   */
  encoding?: "utf8" | "base64";
  /**
   * Permission bits, 3 or 4 octal digits such as '0755' (default: kept, 0644 new).
   */
  mode?: string;
}
export interface WorkspaceFileWriteResult {
  workspace_id: string;
  path: string;
  size_bytes: number;
  mode: string;
  /**
   * The file did not exist before.
   */
  created: boolean;
}
export interface WorkspacePatchApplyInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Unified diff text.
   */
  patch: string;
}
export interface WorkspacePatchApplyResult {
  workspace_id: string;
  changed: boolean;
  summary: {
    total: number;
    added: number;
    modified: number;
    deleted: number;
  };
  entries: {
    path: string;
    status: "added" | "modified" | "deleted";
    hunks: number;
  }[];
}
export interface WorkspaceDiskExportInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Exact host path of the raw image to create.
   */
  output_path: string;
}
export interface WorkspaceDiskExportResult {
  workspace_id: string;
  output_path: string;
  format: "raw";
  /**
   * The image's size (a sparse file: less on disk).
   */
  size_bytes: number;
  /**
   * Runtime-only paths that were on the disk and were removed from the copy.
   */
  scrubbed_paths: string[];
}
export interface WorkspaceDiskListInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * Directory or file under /workspace (default /workspace).
   */
  path?: string;
  /**
   * Also list subdirectories.
   */
  recursive?: boolean;
}
export interface WorkspaceDiskListResult {
  workspace_id: string;
  path: string;
  recursive: boolean;
  count: number;
  entries: {
    /**
     * Absolute guest path (/workspace/...).
     */
    path: string;
    type: "file" | "directory" | "symlink" | "other";
    size_bytes: number;
    /**
     * Permission bits as 4 octal digits, e.g. 0644.
     */
    mode: string;
    /**
     * Modification time, seconds since the epoch.
     */
    mtime: number;
    /**
     * A symlink's target (never followed), else null.
     */
    link_target: string | null;
  }[];
  /**
   * More entries exist than the 1000 returned.
   */
  truncated: boolean;
}
export interface WorkspaceDiskReadInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * File under /workspace.
   */
  path: string;
  /**
   * Read at most this many bytes, 0-1048576 (default 65536).
   */
  max_bytes?: number;
}
export interface WorkspaceDiskReadResult {
  workspace_id: string;
  path: string;
  /**
   * The file's whole size.
   */
  size_bytes: number;
  max_bytes: number;
  mode: string;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  mtime: number;
  /**
   * The bytes read: UTF-8 text, or base64 (see encoding).
   */
  content: string;
  /**
   * utf8 when the bytes are text, base64 for binary (NUL bytes, not UTF-8).
   */
  encoding: "utf8" | "base64";
  /**
   * How many of the file's bytes content holds.
   */
  returned_bytes: number;
  /**
   * The file is longer than max_bytes.
   */
  truncated: boolean;
}
export interface WorkspaceStopInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface WorkspaceStopResult {
  workspace_id: string;
  environment: string;
  state: "started" | "stopped" | "resetting" | "stopping" | "starting";
  workspace_path: string;
  workspace_seed: {
    mode: "empty" | "directory" | "tar_archive";
    seed_path: string | null;
    entry_count?: number;
    bytes_written?: number;
  };
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  command_count: number;
  last_command: {
    sequence: number;
    command: string;
    cwd: string;
    exit_code: number;
    duration_ms: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    finished_at: number;
  } | null;
  reset_count: number;
  workspace_reset: {
    snapshot_name: string;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    reset_at: number;
    [k: string]: unknown;
  } | null;
  last_error: string | null;
  service_count: number;
  running_service_count: number;
  /**
   * The workspace's secrets: names and where each value came from, never the values (see docs/secrets.md).
   */
  secrets: {
    name: string;
    source_kind: "literal" | "file";
  }[];
  /**
   * The workspace's unique name, usable wherever its id is.
   */
  name: string | null;
  labels: {
    [k: string]: string;
  };
  /**
   * Last operation on the workspace (or running command, shell or service). Unix time in seconds (UTC; may have a fraction).
   */
  last_activity_at: number;
  /**
   * last_activity_at + ttl_seconds (the idle timeout). Unix time in seconds (UTC; may have a fraction).
   */
  idle_expires_at: number;
  /**
   * Expiry whatever the activity (max_lifetime_seconds), or null. Unix time in seconds (UTC; may have a fraction).
   */
  hard_expires_at: number | null;
  /**
   * Seconds until expires_at, the earlier of idle_expires_at and hard_expires_at.
   */
  expires_in_seconds: number;
  /**
   * When workspace_stop stopped it (null if started). Unix time in seconds (UTC; may have a fraction).
   */
  stopped_at: number | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
  /**
   * Hosts the guest may reach (empty: any public host); see docs/networking.md.
   */
  allow_hosts: string[];
}
export interface WorkspaceStartInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
}
export interface WorkspaceStartResult {
  workspace_id: string;
  environment: string;
  state: "started" | "stopped" | "resetting" | "stopping" | "starting";
  workspace_path: string;
  workspace_seed: {
    mode: "empty" | "directory" | "tar_archive";
    seed_path: string | null;
    entry_count?: number;
    bytes_written?: number;
  };
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  command_count: number;
  last_command: {
    sequence: number;
    command: string;
    cwd: string;
    exit_code: number;
    duration_ms: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    finished_at: number;
  } | null;
  reset_count: number;
  workspace_reset: {
    snapshot_name: string;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    reset_at: number;
    [k: string]: unknown;
  } | null;
  last_error: string | null;
  service_count: number;
  running_service_count: number;
  /**
   * The workspace's secrets: names and where each value came from, never the values (see docs/secrets.md).
   */
  secrets: {
    name: string;
    source_kind: "literal" | "file";
  }[];
  /**
   * The workspace's unique name, usable wherever its id is.
   */
  name: string | null;
  labels: {
    [k: string]: string;
  };
  /**
   * Last operation on the workspace (or running command, shell or service). Unix time in seconds (UTC; may have a fraction).
   */
  last_activity_at: number;
  /**
   * last_activity_at + ttl_seconds (the idle timeout). Unix time in seconds (UTC; may have a fraction).
   */
  idle_expires_at: number;
  /**
   * Expiry whatever the activity (max_lifetime_seconds), or null. Unix time in seconds (UTC; may have a fraction).
   */
  hard_expires_at: number | null;
  /**
   * Seconds until expires_at, the earlier of idle_expires_at and hard_expires_at.
   */
  expires_in_seconds: number;
  /**
   * When workspace_stop stopped it (null if started). Unix time in seconds (UTC; may have a fraction).
   */
  stopped_at: number | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
  /**
   * Hosts the guest may reach (empty: any public host); see docs/networking.md.
   */
  allow_hosts: string[];
}
export interface WorkspaceListInput {
  /**
   * Labels as {KEY: VALUE}: keys 1-63 letters, digits, '.', '_', '/' or '-' (starting with a letter or digit), values up to 256 characters; at most 32.
   */
  labels?: {
    [k: string]: string;
  };
  /**
   * Only workspaces in this state.
   */
  state?: "started" | "stopped" | "resetting" | "stopping" | "starting";
}
export interface WorkspaceListResult {
  count: number;
  workspaces: {
    workspace_id: string;
    /**
     * The workspace's unique name, usable wherever its id is.
     */
    name: string | null;
    labels: {
      [k: string]: string;
    };
    state: "started" | "stopped" | "resetting" | "stopping" | "starting";
    environment: string;
    backend: string;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    created_at: number;
    ttl_seconds: number;
    /**
     * Last operation on the workspace (or running command, shell or service). Unix time in seconds (UTC; may have a fraction).
     */
    last_activity_at: number;
    /**
     * last_activity_at + ttl_seconds (the idle timeout). Unix time in seconds (UTC; may have a fraction).
     */
    idle_expires_at: number;
    /**
     * Expiry whatever the activity (max_lifetime_seconds), or null. Unix time in seconds (UTC; may have a fraction).
     */
    hard_expires_at: number | null;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    expires_at: number;
    /**
     * Seconds until expires_at, the earlier of idle_expires_at and hard_expires_at.
     */
    expires_in_seconds: number;
    command_count: number;
    reset_count: number;
    service_count: number;
    running_service_count: number;
    /**
     * Host disk the workspace takes: /workspace, baseline, snapshots, logs.
     */
    size_bytes: number;
    last_error: string | null;
  }[];
}
export interface WorkspaceUpdateInput {
  /**
   * Workspace id, or its unique name.
   */
  workspace_id: string;
  /**
   * New unique name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, not 12 hex digits; null removes it.
   */
  name?: string | null;
  /**
   * Labels as {KEY: VALUE}: keys 1-63 letters, digits, '.', '_', '/' or '-' (starting with a letter or digit), values up to 256 characters; at most 32.
   */
  labels?: {
    [k: string]: string;
  };
  /**
   * Label keys to remove.
   */
  clear_labels?: string[];
  /**
   * New idle timeout in seconds, 60-86400, counted from the last activity.
   */
  ttl_seconds?: number;
  max_lifetime_seconds?: number | null;
}
export interface WorkspaceUpdateResult {
  workspace_id: string;
  environment: string;
  state: "started" | "stopped" | "resetting" | "stopping" | "starting";
  workspace_path: string;
  workspace_seed: {
    mode: "empty" | "directory" | "tar_archive";
    seed_path: string | null;
    entry_count?: number;
    bytes_written?: number;
  };
  backend: string;
  execution_mode: string;
  vcpu_count: number;
  mem_mib: number;
  ttl_seconds: number;
  network_enabled: boolean;
  allow_host_compat: boolean;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  created_at: number;
  /**
   * Unix time in seconds (UTC; may have a fraction).
   */
  expires_at: number;
  command_count: number;
  last_command: {
    sequence: number;
    command: string;
    cwd: string;
    exit_code: number;
    duration_ms: number;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    finished_at: number;
  } | null;
  reset_count: number;
  workspace_reset: {
    snapshot_name: string;
    /**
     * Unix time in seconds (UTC; may have a fraction).
     */
    reset_at: number;
    [k: string]: unknown;
  } | null;
  last_error: string | null;
  service_count: number;
  running_service_count: number;
  /**
   * The workspace's secrets: names and where each value came from, never the values (see docs/secrets.md).
   */
  secrets: {
    name: string;
    source_kind: "literal" | "file";
  }[];
  /**
   * The workspace's unique name, usable wherever its id is.
   */
  name: string | null;
  labels: {
    [k: string]: string;
  };
  /**
   * Last operation on the workspace (or running command, shell or service). Unix time in seconds (UTC; may have a fraction).
   */
  last_activity_at: number;
  /**
   * last_activity_at + ttl_seconds (the idle timeout). Unix time in seconds (UTC; may have a fraction).
   */
  idle_expires_at: number;
  /**
   * Expiry whatever the activity (max_lifetime_seconds), or null. Unix time in seconds (UTC; may have a fraction).
   */
  hard_expires_at: number | null;
  /**
   * Seconds until expires_at, the earlier of idle_expires_at and hard_expires_at.
   */
  expires_in_seconds: number;
  /**
   * When workspace_stop stopped it (null if started). Unix time in seconds (UTC; may have a fraction).
   */
  stopped_at: number | null;
  /**
   * off (no network device), egress, or egress+published-ports.
   */
  network_policy: "off" | "egress" | "egress+published-ports";
  /**
   * True on the host backend: its commands are host processes using the host's network, whatever the policy says.
   */
  host_network_shared: boolean;
  /**
   * Hosts the guest may reach (empty: any public host); see docs/networking.md.
   */
  allow_hosts: string[];
}

/** One catalogue operation as the SDK lists it (`operations`). */
export interface OperationInfo {
  readonly name: keyof PyroOperations;
  readonly method: keyof PyroMethods;
  /** When the operation is legal and what it returns (the MCP tool description). */
  readonly description: string;
}

/**
 * Every operation of the public contract, in the order front ends list them: what the SDK
 * entry needs to install its methods without loading the catalogue's schemas.
 */
export const OPERATIONS: readonly OperationInfo[] = [
  {
    name: "vm_list_environments",
    method: "listEnvironments",
    description:
      "List the environments a VM or workspace can be created from, whether each is pulled into the environment cache (a real guest needs it; `pyro env pull NAME` builds it), the backend selection (`auto` picks qemu when it can boot the environment) and the cache directory.",
  },
  {
    name: "vm_create",
    method: "createVm",
    description:
      "Create a one-shot VM in state 'created' (not booted; call vm_start). Returns the VM record with vm_id. Fails with limit_exceeded when max active VMs are running.",
  },
  {
    name: "vm_start",
    method: "startVm",
    description: "Boot a VM in state 'created' or 'stopped'. Returns the VM record, now 'started'.",
  },
  {
    name: "vm_exec",
    method: "execVm",
    description:
      "Run one shell command in a started VM and then delete the VM (one-shot). Returns exit_code, stdout, stderr; exit_code 124 means it timed out.",
  },
  {
    name: "vm_stop",
    method: "stopVm",
    description:
      "Stop a VM's sandbox, keeping its record (state 'stopped'; vm_start boots it again).",
  },
  {
    name: "vm_delete",
    method: "deleteVm",
    description: "Stop a VM and delete its record. Returns {vm_id, deleted: true}.",
  },
  {
    name: "vm_status",
    method: "statusVm",
    description:
      "Show a VM's record and state (created, started, stopped). An expired VM is deleted and reported as expired.",
  },
  {
    name: "vm_network_info",
    method: "networkInfoVm",
    description:
      "Show a VM's network configuration (guest_ip, tap_name, mac_address; null when off).",
  },
  {
    name: "vm_reap_expired",
    method: "reapExpired",
    description:
      "Delete expired VMs and workspaces, and state directories whose record is corrupt. Returns the ids removed.",
  },
  {
    name: "vm_run",
    method: "runInVm",
    description:
      "Create a VM, run one shell command in it and delete it, even on failure. Returns exit_code, stdout, stderr; exit_code 124 means it timed out.",
  },
  {
    name: "workspace_create",
    method: "createWorkspace",
    description:
      "Create a persistent workspace: boot a sandbox, seed /workspace from seed_path (a host directory or .tar/.tar.gz/.tgz archive; empty without one) and store that tree as the immutable baseline for diff and reset. Returns the workspace record with workspace_id.",
  },
  {
    name: "workspace_exec",
    method: "execWorkspace",
    description:
      "Run a shell command in a started workspace, in /workspace or a cwd under it, and record it in the command log. Returns exit_code, stdout, stderr and its sequence number; exit_code 124 means it timed out, 130 that it was cancelled. A command still running after wait_seconds (over MCP by default 50 s) is left running in the background: the result then has state 'running', command_id and the output so far; follow it with command_read, command_wait or command_kill.",
  },
  {
    name: "workspace_status",
    method: "statusWorkspace",
    description:
      "Show a workspace's record: state, command_count and last_command, reset_count and workspace_reset, service counts, expiry and last_error.",
  },
  {
    name: "workspace_logs",
    method: "logsWorkspace",
    description:
      "Show the workspace's command log since its creation or last reset: each exec with its exit_code, stdout and stderr (the log keeps at most 64 KiB of each, with stdout_truncated/stderr_truncated set, and about the last 16 MiB of entries; dropped_count says how many older ones rotation dropped). Page with tail (last N entries) or after_sequence + limit (pass next_after_sequence back while has_more).",
  },
  {
    name: "workspace_sync_push",
    method: "pushWorkspaceSync",
    description:
      "Copy a host directory or .tar/.tar.gz/.tgz archive into a started workspace under dest (default /workspace; a dest outside /workspace is refused). Unsafe archive members are refused before anything is written.",
  },
  {
    name: "workspace_diff",
    method: "diffWorkspace",
    description:
      "Compare a started workspace's /workspace with its creation baseline. Returns changed, a summary of counts, entries (path, status, artifact_type, text_patch, old_mode, new_mode) and a unified patch. A file whose permission bits alone changed is mode_changed; a modified file whose mode changed too has old_mode/new_mode set; both get git's old mode/new mode lines in the patch.",
  },
  {
    name: "workspace_export",
    method: "exportWorkspace",
    description:
      "Copy one file or directory from under /workspace of a started workspace to a host output_path that must not exist yet. Symlinks and empty directories survive.",
  },
  {
    name: "snapshot_create",
    method: "createSnapshot",
    description:
      "Save a started workspace's current /workspace tree as a named snapshot that workspace_reset can restore. The name 'baseline' is reserved.",
  },
  {
    name: "snapshot_list",
    method: "listSnapshots",
    description: "List a workspace's snapshots, the baseline first, then named ones by age.",
  },
  {
    name: "snapshot_delete",
    method: "deleteSnapshot",
    description: "Delete a named snapshot. The baseline cannot be deleted.",
  },
  {
    name: "workspace_reset",
    method: "resetWorkspace",
    description:
      "Destroy the workspace's sandbox, boot a fresh one and restore /workspace from a snapshot (default baseline). Clears the command log, shells and services; keeps the id, baseline and snapshots; reset_count goes up by one. Also repairs a stopped workspace.",
  },
  {
    name: "workspace_delete",
    method: "deleteWorkspace",
    description:
      "Stop the workspace's sandbox, services and shells and delete the workspace with its baseline and snapshots.",
  },
  {
    name: "workspace_summary",
    method: "summarizeWorkspace",
    description:
      "Review a workspace since its creation or last reset, in one bounded result: the newest 20 commands with exit codes (and how many more), commands still running, what changed under /workspace (diff counts and up to 50 paths; needs a started workspace), named snapshots, services, and the journal of syncs, exports, snapshot and service changes. For a model or a person coming back to a workspace.",
  },
  {
    name: "workspace_network_log",
    method: "networkLogWorkspace",
    description:
      "Show the connections a workspace's guest was refused by its network policy (or could not make): host, port, reason and time, oldest first. The log outlives resets and keeps about the last 256-512 KiB of entries. Use it to see why a download or `npm install` failed.",
  },
  {
    name: "shell_open",
    method: "openShell",
    description:
      "Open a persistent PTY shell (bash) in a started workspace (default cwd /workspace, 120x30). Returns shell_id; any process can then write to and read from it.",
  },
  {
    name: "shell_read",
    method: "readShell",
    description:
      "Read a shell's output from a cursor (default 0). Returns output and next_cursor: pass next_cursor to the next read to get only new output. With wait_seconds, a read with no new output waits up to that long for some (or for the shell to exit). For a model: plain: true and wait_for_idle_ms: 300 return a command's whole output as readable text.",
  },
  {
    name: "shell_write",
    method: "writeShell",
    description:
      "Type input into a running shell, followed by a newline unless append_newline is false. Read the output with shell_read.",
  },
  {
    name: "shell_signal",
    method: "signalShell",
    description:
      "Send HUP, INT (default, like Ctrl-C), TERM or KILL to the shell's foreground job, e.g. to stop a command that does not finish.",
  },
  {
    name: "shell_close",
    method: "closeShell",
    description: "Close a shell and end everything started in it. Returns {closed: true}.",
  },
  {
    name: "shell_resize",
    method: "resizeShell",
    description:
      "Set a shell's terminal size (columns and rows; an omitted one is kept). The job in its foreground gets SIGWINCH, as from a resized terminal window.",
  },
  {
    name: "service_start",
    method: "startService",
    description:
      "Start a named long-running command (a server, a watcher) in a started workspace. With readiness (file, tcp, http or command) the call returns once it is ready (state running) or has failed (exited or timed out first).",
  },
  {
    name: "service_list",
    method: "listServices",
    description:
      "List the workspace's services with their states (starting, running, exited, stopped, failed).",
  },
  {
    name: "service_status",
    method: "statusService",
    description:
      "Show one service: state, pid, started_at, ready_at, ended_at, exit_code, stop_reason and failure_reason.",
  },
  {
    name: "service_logs",
    method: "logsService",
    description:
      "Show a service's stdout and stderr (last 200 lines by default, tail_lines or all for more). Needs a started workspace.",
  },
  {
    name: "service_stop",
    method: "stopService",
    description:
      "Stop a service: SIGTERM to its processes, SIGKILL after a grace period; records stop_reason.",
  },
  {
    name: "command_status",
    method: "statusCommand",
    description:
      "Show a command started by workspace_exec (state, exit_code once exited, sequence once logged) without its output.",
  },
  {
    name: "command_read",
    method: "readCommand",
    description:
      "Read a command's stdout and stderr from cursors (default 0), like shell_read: pass next_stdout_cursor and next_stderr_cursor back to get only new output. wait_seconds blocks until there is new output or the command ends.",
  },
  {
    name: "command_wait",
    method: "waitCommand",
    description:
      "Wait up to wait_seconds for a command to end. Once it has, returns what a finished workspace_exec returns (exit_code, stdout, stderr, sequence); else state running.",
  },
  {
    name: "command_kill",
    method: "killCommand",
    description:
      "Kill a running command and everything it started; it is logged with exit_code 130 and cancelled: true. Returns its result.",
  },
  {
    name: "command_list",
    method: "listCommands",
    description:
      "List the workspace's recent commands (running ones and the last finished ones), oldest first.",
  },
  {
    name: "workspace_file_list",
    method: "listWorkspaceFiles",
    description:
      "List a directory under /workspace of a started workspace (or describe one file): each entry's path, type (file, directory, symlink, other), size_bytes, mode and mtime; symlinks are shown with their target, never followed. recursive walks subdirectories. At most 1000 entries; truncated says there are more.",
  },
  {
    name: "workspace_file_read",
    method: "readWorkspaceFile",
    description:
      "Read a regular file under /workspace of a started workspace, up to max_bytes (default 65536, at most 1048576). content is UTF-8 text when the file is text, base64 when it is binary (encoding says which); truncated says the file is longer. Symlinks are refused, never followed.",
  },
  {
    name: "workspace_file_write",
    method: "writeWorkspaceFile",
    description:
      "Write a whole file under /workspace of a started workspace, creating missing parent directories. text is the content (UTF-8), or base64 of it with encoding 'base64' (binary files); at most 4194304 bytes. The file is replaced atomically (a temp file renamed over it); a symlink or directory in its place is refused, never followed. mode sets the permission bits (default: kept, 0644 for a new file).",
  },
  {
    name: "workspace_patch_apply",
    method: "applyWorkspacePatch",
    description:
      "Apply a unified diff (as git diff or diff -u write it; a/ and b/ prefixes, new files from /dev/null and deleted files to /dev/null) to files under /workspace of a started workspace. All or nothing: every hunk of every file is checked first, and if any does not apply nothing changes and the error lists each file with what failed. Text files only, at most 1048576 bytes of patch and 256 files.",
  },
  {
    name: "workspace_disk_export",
    method: "exportWorkspaceDisk",
    description:
      "Copy a stopped guest-backed workspace's whole disk (its root filesystem with /workspace) to a host output_path that must not exist yet, as a raw ext4 image, without booting it. Runtime-only guest paths (/run/pyro-secrets, /run/pyro-shells, /run/pyro-services) are scrubbed from the copy first; the workspace's own disk is never changed. Refused for a running or host-backend workspace.",
  },
  {
    name: "workspace_disk_list",
    method: "listWorkspaceDisk",
    description:
      "List a directory under /workspace on a stopped guest-backed workspace's disk, without booting it: entries as workspace_file_list gives them (symlinks never followed; at most 1000, truncated says more). Refused for a running or host-backend workspace.",
  },
  {
    name: "workspace_disk_read",
    method: "readWorkspaceDisk",
    description:
      "Read a regular file under /workspace on a stopped guest-backed workspace's disk, without booting it, up to max_bytes (default 65536, at most 1048576); content and encoding as workspace_file_read gives them. Refused for a running or host-backend workspace.",
  },
  {
    name: "workspace_stop",
    method: "stopWorkspace",
    description:
      "Stop a workspace's sandbox without losing anything: running commands are killed (and logged as cancelled), services stopped (stop_reason workspace_stopped), shells closed, the guest's filesystem flushed; /workspace, snapshots and the command log stay. A stopped workspace holds no VM; workspace_start boots it again on the same /workspace. While stopped, workspace_status, workspace_logs, workspace_list, workspace_update, snapshot_list/snapshot_delete, service_list/service_status, workspace_reset and workspace_delete work; other operations answer invalid_state naming workspace_start. Stopping a stopped workspace changes nothing.",
  },
  {
    name: "workspace_start",
    method: "startWorkspace",
    description:
      "Boot a stopped workspace again on its kept /workspace (no reset: files, command log, snapshots and reset_count are unchanged; services and shells do not come back). Starting a started workspace changes nothing.",
  },
  {
    name: "workspace_list",
    method: "listWorkspaces",
    description:
      "List workspaces, most recently active first (last_activity_at), with name, labels, state, expiry, service counts and size on disk. Filter by labels (every given KEY: VALUE must match) and state. Expired workspaces are collected first.",
  },
  {
    name: "workspace_update",
    method: "updateWorkspace",
    description:
      "Change a workspace's name, labels and expiry: set name (unique; null removes it), set labels, clear_labels (keys), ttl_seconds (the idle timeout, 60-86400) and max_lifetime_seconds (hard expiry counted from creation, 60-2592000; null removes it). Every field is checked before anything changes. Works on started and stopped workspaces.",
  },
];

/** One method per catalogue operation, named by its `method`; see PyroOperations. */
export interface PyroMethods {
  /** List the environments a VM or workspace can be created from, whether each is pulled into the environment cache (a real guest needs it; `pyro env pull NAME` builds it), the backend selection (`auto` picks qemu when it can boot the environment) and the cache directory. (MCP tool `vm_list_environments`) */
  listEnvironments(
    input: VmListEnvironmentsInput,
    options?: CallOptions,
  ): Promise<VmListEnvironmentsResult>;
  /** Create a one-shot VM in state 'created' (not booted; call vm_start). Returns the VM record with vm_id. Fails with limit_exceeded when max active VMs are running. (MCP tool `vm_create`) */
  createVm(input: VmCreateInput, options?: CallOptions): Promise<VmCreateResult>;
  /** Boot a VM in state 'created' or 'stopped'. Returns the VM record, now 'started'. (MCP tool `vm_start`) */
  startVm(input: VmStartInput, options?: CallOptions): Promise<VmStartResult>;
  /** Run one shell command in a started VM and then delete the VM (one-shot). Returns exit_code, stdout, stderr; exit_code 124 means it timed out. (MCP tool `vm_exec`) */
  execVm(input: VmExecInput, options?: CallOptions): Promise<VmExecResult>;
  /** Stop a VM's sandbox, keeping its record (state 'stopped'; vm_start boots it again). (MCP tool `vm_stop`) */
  stopVm(input: VmStopInput, options?: CallOptions): Promise<VmStopResult>;
  /** Stop a VM and delete its record. Returns {vm_id, deleted: true}. (MCP tool `vm_delete`) */
  deleteVm(input: VmDeleteInput, options?: CallOptions): Promise<VmDeleteResult>;
  /** Show a VM's record and state (created, started, stopped). An expired VM is deleted and reported as expired. (MCP tool `vm_status`) */
  statusVm(input: VmStatusInput, options?: CallOptions): Promise<VmStatusResult>;
  /** Show a VM's network configuration (guest_ip, tap_name, mac_address; null when off). (MCP tool `vm_network_info`) */
  networkInfoVm(input: VmNetworkInfoInput, options?: CallOptions): Promise<VmNetworkInfoResult>;
  /** Delete expired VMs and workspaces, and state directories whose record is corrupt. Returns the ids removed. (MCP tool `vm_reap_expired`) */
  reapExpired(input: VmReapExpiredInput, options?: CallOptions): Promise<VmReapExpiredResult>;
  /** Create a VM, run one shell command in it and delete it, even on failure. Returns exit_code, stdout, stderr; exit_code 124 means it timed out. (MCP tool `vm_run`) */
  runInVm(input: VmRunInput, options?: CallOptions): Promise<VmRunResult>;
  /** Create a persistent workspace: boot a sandbox, seed /workspace from seed_path (a host directory or .tar/.tar.gz/.tgz archive; empty without one) and store that tree as the immutable baseline for diff and reset. Returns the workspace record with workspace_id. (MCP tool `workspace_create`) */
  createWorkspace(
    input: WorkspaceCreateInput,
    options?: CallOptions,
  ): Promise<WorkspaceCreateResult>;
  /** Run a shell command in a started workspace, in /workspace or a cwd under it, and record it in the command log. Returns exit_code, stdout, stderr and its sequence number; exit_code 124 means it timed out, 130 that it was cancelled. A command still running after wait_seconds (over MCP by default 50 s) is left running in the background: the result then has state 'running', command_id and the output so far; follow it with command_read, command_wait or command_kill. (MCP tool `workspace_exec`) */
  execWorkspace(input: WorkspaceExecInput, options?: CallOptions): Promise<WorkspaceExecResult>;
  /** Show a workspace's record: state, command_count and last_command, reset_count and workspace_reset, service counts, expiry and last_error. (MCP tool `workspace_status`) */
  statusWorkspace(
    input: WorkspaceStatusInput,
    options?: CallOptions,
  ): Promise<WorkspaceStatusResult>;
  /** Show the workspace's command log since its creation or last reset: each exec with its exit_code, stdout and stderr (the log keeps at most 64 KiB of each, with stdout_truncated/stderr_truncated set, and about the last 16 MiB of entries; dropped_count says how many older ones rotation dropped). Page with tail (last N entries) or after_sequence + limit (pass next_after_sequence back while has_more). (MCP tool `workspace_logs`) */
  logsWorkspace(input: WorkspaceLogsInput, options?: CallOptions): Promise<WorkspaceLogsResult>;
  /** Copy a host directory or .tar/.tar.gz/.tgz archive into a started workspace under dest (default /workspace; a dest outside /workspace is refused). Unsafe archive members are refused before anything is written. (MCP tool `workspace_sync_push`) */
  pushWorkspaceSync(
    input: WorkspaceSyncPushInput,
    options?: CallOptions,
  ): Promise<WorkspaceSyncPushResult>;
  /** Compare a started workspace's /workspace with its creation baseline. Returns changed, a summary of counts, entries (path, status, artifact_type, text_patch, old_mode, new_mode) and a unified patch. A file whose permission bits alone changed is mode_changed; a modified file whose mode changed too has old_mode/new_mode set; both get git's old mode/new mode lines in the patch. (MCP tool `workspace_diff`) */
  diffWorkspace(input: WorkspaceDiffInput, options?: CallOptions): Promise<WorkspaceDiffResult>;
  /** Copy one file or directory from under /workspace of a started workspace to a host output_path that must not exist yet. Symlinks and empty directories survive. (MCP tool `workspace_export`) */
  exportWorkspace(
    input: WorkspaceExportInput,
    options?: CallOptions,
  ): Promise<WorkspaceExportResult>;
  /** Save a started workspace's current /workspace tree as a named snapshot that workspace_reset can restore. The name 'baseline' is reserved. (MCP tool `snapshot_create`) */
  createSnapshot(input: SnapshotCreateInput, options?: CallOptions): Promise<SnapshotCreateResult>;
  /** List a workspace's snapshots, the baseline first, then named ones by age. (MCP tool `snapshot_list`) */
  listSnapshots(input: SnapshotListInput, options?: CallOptions): Promise<SnapshotListResult>;
  /** Delete a named snapshot. The baseline cannot be deleted. (MCP tool `snapshot_delete`) */
  deleteSnapshot(input: SnapshotDeleteInput, options?: CallOptions): Promise<SnapshotDeleteResult>;
  /** Destroy the workspace's sandbox, boot a fresh one and restore /workspace from a snapshot (default baseline). Clears the command log, shells and services; keeps the id, baseline and snapshots; reset_count goes up by one. Also repairs a stopped workspace. (MCP tool `workspace_reset`) */
  resetWorkspace(input: WorkspaceResetInput, options?: CallOptions): Promise<WorkspaceResetResult>;
  /** Stop the workspace's sandbox, services and shells and delete the workspace with its baseline and snapshots. (MCP tool `workspace_delete`) */
  deleteWorkspace(
    input: WorkspaceDeleteInput,
    options?: CallOptions,
  ): Promise<WorkspaceDeleteResult>;
  /** Review a workspace since its creation or last reset, in one bounded result: the newest 20 commands with exit codes (and how many more), commands still running, what changed under /workspace (diff counts and up to 50 paths; needs a started workspace), named snapshots, services, and the journal of syncs, exports, snapshot and service changes. For a model or a person coming back to a workspace. (MCP tool `workspace_summary`) */
  summarizeWorkspace(
    input: WorkspaceSummaryInput,
    options?: CallOptions,
  ): Promise<WorkspaceSummaryResult>;
  /** Show the connections a workspace's guest was refused by its network policy (or could not make): host, port, reason and time, oldest first. The log outlives resets and keeps about the last 256-512 KiB of entries. Use it to see why a download or `npm install` failed. (MCP tool `workspace_network_log`) */
  networkLogWorkspace(
    input: WorkspaceNetworkLogInput,
    options?: CallOptions,
  ): Promise<WorkspaceNetworkLogResult>;
  /** Open a persistent PTY shell (bash) in a started workspace (default cwd /workspace, 120x30). Returns shell_id; any process can then write to and read from it. (MCP tool `shell_open`) */
  openShell(input: ShellOpenInput, options?: CallOptions): Promise<ShellOpenResult>;
  /** Read a shell's output from a cursor (default 0). Returns output and next_cursor: pass next_cursor to the next read to get only new output. With wait_seconds, a read with no new output waits up to that long for some (or for the shell to exit). For a model: plain: true and wait_for_idle_ms: 300 return a command's whole output as readable text. (MCP tool `shell_read`) */
  readShell(input: ShellReadInput, options?: CallOptions): Promise<ShellReadResult>;
  /** Type input into a running shell, followed by a newline unless append_newline is false. Read the output with shell_read. (MCP tool `shell_write`) */
  writeShell(input: ShellWriteInput, options?: CallOptions): Promise<ShellWriteResult>;
  /** Send HUP, INT (default, like Ctrl-C), TERM or KILL to the shell's foreground job, e.g. to stop a command that does not finish. (MCP tool `shell_signal`) */
  signalShell(input: ShellSignalInput, options?: CallOptions): Promise<ShellSignalResult>;
  /** Close a shell and end everything started in it. Returns {closed: true}. (MCP tool `shell_close`) */
  closeShell(input: ShellCloseInput, options?: CallOptions): Promise<ShellCloseResult>;
  /** Set a shell's terminal size (columns and rows; an omitted one is kept). The job in its foreground gets SIGWINCH, as from a resized terminal window. (MCP tool `shell_resize`) */
  resizeShell(input: ShellResizeInput, options?: CallOptions): Promise<ShellResizeResult>;
  /** Start a named long-running command (a server, a watcher) in a started workspace. With readiness (file, tcp, http or command) the call returns once it is ready (state running) or has failed (exited or timed out first). (MCP tool `service_start`) */
  startService(input: ServiceStartInput, options?: CallOptions): Promise<ServiceStartResult>;
  /** List the workspace's services with their states (starting, running, exited, stopped, failed). (MCP tool `service_list`) */
  listServices(input: ServiceListInput, options?: CallOptions): Promise<ServiceListResult>;
  /** Show one service: state, pid, started_at, ready_at, ended_at, exit_code, stop_reason and failure_reason. (MCP tool `service_status`) */
  statusService(input: ServiceStatusInput, options?: CallOptions): Promise<ServiceStatusResult>;
  /** Show a service's stdout and stderr (last 200 lines by default, tail_lines or all for more). Needs a started workspace. (MCP tool `service_logs`) */
  logsService(input: ServiceLogsInput, options?: CallOptions): Promise<ServiceLogsResult>;
  /** Stop a service: SIGTERM to its processes, SIGKILL after a grace period; records stop_reason. (MCP tool `service_stop`) */
  stopService(input: ServiceStopInput, options?: CallOptions): Promise<ServiceStopResult>;
  /** Show a command started by workspace_exec (state, exit_code once exited, sequence once logged) without its output. (MCP tool `command_status`) */
  statusCommand(input: CommandStatusInput, options?: CallOptions): Promise<CommandStatusResult>;
  /** Read a command's stdout and stderr from cursors (default 0), like shell_read: pass next_stdout_cursor and next_stderr_cursor back to get only new output. wait_seconds blocks until there is new output or the command ends. (MCP tool `command_read`) */
  readCommand(input: CommandReadInput, options?: CallOptions): Promise<CommandReadResult>;
  /** Wait up to wait_seconds for a command to end. Once it has, returns what a finished workspace_exec returns (exit_code, stdout, stderr, sequence); else state running. (MCP tool `command_wait`) */
  waitCommand(input: CommandWaitInput, options?: CallOptions): Promise<CommandWaitResult>;
  /** Kill a running command and everything it started; it is logged with exit_code 130 and cancelled: true. Returns its result. (MCP tool `command_kill`) */
  killCommand(input: CommandKillInput, options?: CallOptions): Promise<CommandKillResult>;
  /** List the workspace's recent commands (running ones and the last finished ones), oldest first. (MCP tool `command_list`) */
  listCommands(input: CommandListInput, options?: CallOptions): Promise<CommandListResult>;
  /** List a directory under /workspace of a started workspace (or describe one file): each entry's path, type (file, directory, symlink, other), size_bytes, mode and mtime; symlinks are shown with their target, never followed. recursive walks subdirectories. At most 1000 entries; truncated says there are more. (MCP tool `workspace_file_list`) */
  listWorkspaceFiles(
    input: WorkspaceFileListInput,
    options?: CallOptions,
  ): Promise<WorkspaceFileListResult>;
  /** Read a regular file under /workspace of a started workspace, up to max_bytes (default 65536, at most 1048576). content is UTF-8 text when the file is text, base64 when it is binary (encoding says which); truncated says the file is longer. Symlinks are refused, never followed. (MCP tool `workspace_file_read`) */
  readWorkspaceFile(
    input: WorkspaceFileReadInput,
    options?: CallOptions,
  ): Promise<WorkspaceFileReadResult>;
  /** Write a whole file under /workspace of a started workspace, creating missing parent directories. text is the content (UTF-8), or base64 of it with encoding 'base64' (binary files); at most 4194304 bytes. The file is replaced atomically (a temp file renamed over it); a symlink or directory in its place is refused, never followed. mode sets the permission bits (default: kept, 0644 for a new file). (MCP tool `workspace_file_write`) */
  writeWorkspaceFile(
    input: WorkspaceFileWriteInput,
    options?: CallOptions,
  ): Promise<WorkspaceFileWriteResult>;
  /** Apply a unified diff (as git diff or diff -u write it; a/ and b/ prefixes, new files from /dev/null and deleted files to /dev/null) to files under /workspace of a started workspace. All or nothing: every hunk of every file is checked first, and if any does not apply nothing changes and the error lists each file with what failed. Text files only, at most 1048576 bytes of patch and 256 files. (MCP tool `workspace_patch_apply`) */
  applyWorkspacePatch(
    input: WorkspacePatchApplyInput,
    options?: CallOptions,
  ): Promise<WorkspacePatchApplyResult>;
  /** Copy a stopped guest-backed workspace's whole disk (its root filesystem with /workspace) to a host output_path that must not exist yet, as a raw ext4 image, without booting it. Runtime-only guest paths (/run/pyro-secrets, /run/pyro-shells, /run/pyro-services) are scrubbed from the copy first; the workspace's own disk is never changed. Refused for a running or host-backend workspace. (MCP tool `workspace_disk_export`) */
  exportWorkspaceDisk(
    input: WorkspaceDiskExportInput,
    options?: CallOptions,
  ): Promise<WorkspaceDiskExportResult>;
  /** List a directory under /workspace on a stopped guest-backed workspace's disk, without booting it: entries as workspace_file_list gives them (symlinks never followed; at most 1000, truncated says more). Refused for a running or host-backend workspace. (MCP tool `workspace_disk_list`) */
  listWorkspaceDisk(
    input: WorkspaceDiskListInput,
    options?: CallOptions,
  ): Promise<WorkspaceDiskListResult>;
  /** Read a regular file under /workspace on a stopped guest-backed workspace's disk, without booting it, up to max_bytes (default 65536, at most 1048576); content and encoding as workspace_file_read gives them. Refused for a running or host-backend workspace. (MCP tool `workspace_disk_read`) */
  readWorkspaceDisk(
    input: WorkspaceDiskReadInput,
    options?: CallOptions,
  ): Promise<WorkspaceDiskReadResult>;
  /** Stop a workspace's sandbox without losing anything: running commands are killed (and logged as cancelled), services stopped (stop_reason workspace_stopped), shells closed, the guest's filesystem flushed; /workspace, snapshots and the command log stay. A stopped workspace holds no VM; workspace_start boots it again on the same /workspace. While stopped, workspace_status, workspace_logs, workspace_list, workspace_update, snapshot_list/snapshot_delete, service_list/service_status, workspace_reset and workspace_delete work; other operations answer invalid_state naming workspace_start. Stopping a stopped workspace changes nothing. (MCP tool `workspace_stop`) */
  stopWorkspace(input: WorkspaceStopInput, options?: CallOptions): Promise<WorkspaceStopResult>;
  /** Boot a stopped workspace again on its kept /workspace (no reset: files, command log, snapshots and reset_count are unchanged; services and shells do not come back). Starting a started workspace changes nothing. (MCP tool `workspace_start`) */
  startWorkspace(input: WorkspaceStartInput, options?: CallOptions): Promise<WorkspaceStartResult>;
  /** List workspaces, most recently active first (last_activity_at), with name, labels, state, expiry, service counts and size on disk. Filter by labels (every given KEY: VALUE must match) and state. Expired workspaces are collected first. (MCP tool `workspace_list`) */
  listWorkspaces(input: WorkspaceListInput, options?: CallOptions): Promise<WorkspaceListResult>;
  /** Change a workspace's name, labels and expiry: set name (unique; null removes it), set labels, clear_labels (keys), ttl_seconds (the idle timeout, 60-86400) and max_lifetime_seconds (hard expiry counted from creation, 60-2592000; null removes it). Every field is checked before anything changes. Works on started and stopped workspaces. (MCP tool `workspace_update`) */
  updateWorkspace(
    input: WorkspaceUpdateInput,
    options?: CallOptions,
  ): Promise<WorkspaceUpdateResult>;
}
