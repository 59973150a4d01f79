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
   * listEnvironments: List environments, whether each is pulled (`pyro env pull NAME`), the backend and the cache directory.
   */
  vm_list_environments: {
    method: "listEnvironments";
    input: VmListEnvironmentsInput;
    result: VmListEnvironmentsResult;
  };
  /**
   * createVm: Create a one-shot VM in state 'created' (boot it with vm_start). limit_exceeded when max active VMs run.
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
   * execVm: Run one command in a started VM, then delete the VM. exit_code 124: timed out.
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
   * runInVm: Create a VM, run one command in it and delete it, even on failure. exit_code 124: timed out.
   */
  vm_run: {
    method: "runInVm";
    input: VmRunInput;
    result: VmRunResult;
  };
  /**
   * createWorkspace: Create a workspace; /workspace is seeded from seed_path (host directory or .tar/.tgz) and kept as the baseline for diff and reset. With a network_policy, commands reach the network.
   */
  workspace_create: {
    method: "createWorkspace";
    input: WorkspaceCreateInput;
    result: WorkspaceCreateResult;
  };
  /**
   * execWorkspace: Run a shell command in a workspace and log it. exit_code 124: timed out, 130: cancelled. Still running after wait_seconds (MCP: 50): state 'running', follow its command_id.
   */
  workspace_exec: {
    method: "execWorkspace";
    input: WorkspaceExecInput;
    result: WorkspaceExecResult;
  };
  /**
   * statusWorkspace: A workspace's record: state, commands, resets, services, expiry, last_error.
   */
  workspace_status: {
    method: "statusWorkspace";
    input: WorkspaceStatusInput;
    result: WorkspaceStatusResult;
  };
  /**
   * logsWorkspace: The command log since creation or the last reset, with output. Page with tail, or after_sequence + limit.
   */
  workspace_logs: {
    method: "logsWorkspace";
    input: WorkspaceLogsInput;
    result: WorkspaceLogsResult;
  };
  /**
   * pushWorkspaceSync: Copy a host directory or .tar/.tgz archive into /workspace (under dest); unsafe archive members are refused.
   */
  workspace_sync_push: {
    method: "pushWorkspaceSync";
    input: WorkspaceSyncPushInput;
    result: WorkspaceSyncPushResult;
  };
  /**
   * diffWorkspace: Compare /workspace with its baseline: changed, counts, entries and a unified patch.
   */
  workspace_diff: {
    method: "diffWorkspace";
    input: WorkspaceDiffInput;
    result: WorkspaceDiffResult;
  };
  /**
   * exportWorkspace: Copy a file or directory under /workspace to a new host output_path.
   */
  workspace_export: {
    method: "exportWorkspace";
    input: WorkspaceExportInput;
    result: WorkspaceExportResult;
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
   * summarizeWorkspace: Review a workspace since creation or the last reset: recent commands, changes, snapshots, services, events.
   */
  workspace_summary: {
    method: "summarizeWorkspace";
    input: WorkspaceSummaryInput;
    result: WorkspaceSummaryResult;
  };
  /**
   * networkLogWorkspace: Connections the network policy refused (or that failed): host, port, reason. Explains a failed download.
   */
  workspace_network_log: {
    method: "networkLogWorkspace";
    input: WorkspaceNetworkLogInput;
    result: WorkspaceNetworkLogResult;
  };
  /**
   * createSnapshot: Save /workspace as a named snapshot for workspace_reset ('baseline' is reserved).
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
   * resetWorkspace: Boot a fresh sandbox with /workspace restored from a snapshot (default baseline); clears log, shells, services. Repairs a broken or stopped workspace.
   */
  workspace_reset: {
    method: "resetWorkspace";
    input: WorkspaceResetInput;
    result: WorkspaceResetResult;
  };
  /**
   * openShell: Open a persistent bash PTY in a workspace. Returns shell_id for shell_write/shell_read.
   */
  shell_open: {
    method: "openShell";
    input: ShellOpenInput;
    result: ShellOpenResult;
  };
  /**
   * readShell: Read shell output from cursor (pass next_cursor back). plain: true with wait_for_idle_ms: 300 returns a command's output as text.
   */
  shell_read: {
    method: "readShell";
    input: ShellReadInput;
    result: ShellReadResult;
  };
  /**
   * writeShell: Type input into a shell (plus a newline unless append_newline is false).
   */
  shell_write: {
    method: "writeShell";
    input: ShellWriteInput;
    result: ShellWriteResult;
  };
  /**
   * signalShell: Send a signal to the shell's foreground job (INT is Ctrl-C).
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
   * resizeShell: Set a shell's terminal size (an omitted one is kept); its job gets SIGWINCH.
   */
  shell_resize: {
    method: "resizeShell";
    input: ShellResizeInput;
    result: ShellResizeResult;
  };
  /**
   * startService: Start a named long-running command (server, watcher). With readiness it returns once ready (state running) or failed.
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
   * logsService: A service's stdout and stderr: the last tail_lines (default 200), or all.
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
   * statusCommand: A command's state and exit_code, without its output.
   */
  command_status: {
    method: "statusCommand";
    input: CommandStatusInput;
    result: CommandStatusResult;
  };
  /**
   * readCommand: Read a command's output from cursors (pass the next_* cursors back). wait_seconds waits for output or the end.
   */
  command_read: {
    method: "readCommand";
    input: CommandReadInput;
    result: CommandReadResult;
  };
  /**
   * waitCommand: Wait up to wait_seconds for a command to end; then returns what workspace_exec returns.
   */
  command_wait: {
    method: "waitCommand";
    input: CommandWaitInput;
    result: CommandWaitResult;
  };
  /**
   * killCommand: Kill a command and everything it started (logged with exit_code 130, cancelled).
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
   * listWorkspaceFiles: List a directory under /workspace: path, type, size, mode, mtime (symlinks not followed).
   */
  workspace_file_list: {
    method: "listWorkspaceFiles";
    input: WorkspaceFileListInput;
    result: WorkspaceFileListResult;
  };
  /**
   * readWorkspaceFile: Read a file under /workspace, up to max_bytes: UTF-8 text, or base64 for binary (encoding says which).
   */
  workspace_file_read: {
    method: "readWorkspaceFile";
    input: WorkspaceFileReadInput;
    result: WorkspaceFileReadResult;
  };
  /**
   * writeWorkspaceFile: Write a whole file under /workspace atomically (parents created; symlinks refused). text is UTF-8, or base64 with encoding base64.
   */
  workspace_file_write: {
    method: "writeWorkspaceFile";
    input: WorkspaceFileWriteInput;
    result: WorkspaceFileWriteResult;
  };
  /**
   * applyWorkspacePatch: Apply a unified diff (git diff, diff -u) under /workspace, all or nothing; the error lists each failed hunk.
   */
  workspace_patch_apply: {
    method: "applyWorkspacePatch";
    input: WorkspacePatchApplyInput;
    result: WorkspacePatchApplyResult;
  };
  /**
   * exportWorkspaceDisk: Copy a stopped guest workspace's disk to a new host output_path as a raw ext4 image (runtime secrets scrubbed).
   */
  workspace_disk_export: {
    method: "exportWorkspaceDisk";
    input: WorkspaceDiskExportInput;
    result: WorkspaceDiskExportResult;
  };
  /**
   * listWorkspaceDisk: List a directory on a stopped guest workspace's disk without booting it, like workspace_file_list.
   */
  workspace_disk_list: {
    method: "listWorkspaceDisk";
    input: WorkspaceDiskListInput;
    result: WorkspaceDiskListResult;
  };
  /**
   * readWorkspaceDisk: Read a file on a stopped guest workspace's disk without booting it, like workspace_file_read.
   */
  workspace_disk_read: {
    method: "readWorkspaceDisk";
    input: WorkspaceDiskReadInput;
    result: WorkspaceDiskReadResult;
  };
  /**
   * stopWorkspace: Stop a workspace's sandbox, keeping /workspace, snapshots and log; commands, services and shells end. workspace_start boots it again.
   */
  workspace_stop: {
    method: "stopWorkspace";
    input: WorkspaceStopInput;
    result: WorkspaceStopResult;
  };
  /**
   * startWorkspace: Boot a stopped workspace again on its kept /workspace (services and shells do not come back).
   */
  workspace_start: {
    method: "startWorkspace";
    input: WorkspaceStartInput;
    result: WorkspaceStartResult;
  };
  /**
   * listWorkspaces: List workspaces, most recently active first. Filter by labels and state.
   */
  workspace_list: {
    method: "listWorkspaces";
    input: WorkspaceListInput;
    result: WorkspaceListResult;
  };
  /**
   * updateWorkspace: Change a workspace's name, labels, ttl_seconds or max_lifetime_seconds (null removes name or hard expiry).
   */
  workspace_update: {
    method: "updateWorkspace";
    input: WorkspaceUpdateInput;
    result: WorkspaceUpdateResult;
  };
  /**
   * forkWorkspace: New workspaces from a snapshot (default: /workspace now), each a fresh sandbox keeping the source's baseline for diff and reset.
   */
  workspace_fork: {
    method: "forkWorkspace";
    input: WorkspaceForkInput;
    result: WorkspaceForkResult;
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
  environment?: "debian:12" | "debian:12-base" | "debian:12-build";
  vcpu_count?: number;
  mem_mib?: number;
  ttl_seconds?: number;
  /**
   * Egress to any public host (guest backends only).
   */
  network?: boolean;
  /**
   * Run commands as host processes (NOT isolated) if no guest can boot.
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
  vm_id: string;
  /**
   * Run by /bin/sh -c.
   */
  command: string;
  /**
   * Seconds; exit_code 124 on expiry.
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
  vm_id: string;
}
export interface VmDeleteResult {
  vm_id: string;
  deleted: boolean;
}
export interface VmStatusInput {
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
  environment?: "debian:12" | "debian:12-base" | "debian:12-build";
  vcpu_count?: number;
  mem_mib?: number;
  ttl_seconds?: number;
  /**
   * Egress to any public host (guest backends only).
   */
  network?: boolean;
  /**
   * Run commands as host processes (NOT isolated) if no guest can boot.
   */
  allow_host_compat?: boolean;
  /**
   * Run by /bin/sh -c.
   */
  command: string;
  /**
   * Seconds; exit_code 124 on expiry.
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
  environment?: "debian:12" | "debian:12-base" | "debian:12-build";
  vcpu_count?: number;
  mem_mib?: number;
  /**
   * Idle timeout in seconds, from the last activity.
   */
  ttl_seconds?: number;
  /**
   * Egress to any public host (guest backends only).
   */
  network?: boolean;
  /**
   * Run commands as host processes (NOT isolated) if no guest can boot.
   */
  allow_host_compat?: boolean;
  /**
   * Host directory or archive for /workspace.
   */
  seed_path?: string;
  /**
   * {name, value} or {name, file_path} (a host file): given to commands via secret_env, redacted from output.
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
   * Unique name, usable as the id: 1-64 of [A-Za-z0-9._-], not 12 hex digits.
   */
  name?: string;
  /**
   * {KEY: VALUE}: keys 1-63 of [A-Za-z0-9._/-], values up to 256 characters; at most 32.
   */
  labels?: {
    [k: string]: string;
  };
  /**
   * Hard expiry in seconds from creation (default none).
   */
  max_lifetime_seconds?: number;
  /**
   * off (default): no network; egress: outbound TCP (allow_hosts); egress+published-ports: also service ports. Guest backends only.
   */
  network_policy?: "off" | "egress" | "egress+published-ports";
  /**
   * NAME[:PORT], *.example.org or IP (host.pyro.internal:PORT: the host's loopback). Empty: any public host.
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
  /**
   * workspace_fork's source and snapshot (null: forked as it was then), else null.
   */
  forked_from: {
    workspace_id: string;
    snapshot_name: string | null;
  } | null;
}
export interface WorkspaceExecInput {
  workspace_id: string;
  /**
   * Run by /bin/sh -c.
   */
  command: string;
  /**
   * Seconds; exit_code 124 on expiry.
   */
  timeout_seconds?: number;
  /**
   * Under /workspace.
   */
  cwd?: string;
  /**
   * Return with state 'running' after this long if not ended; it goes on (default: wait; MCP 50).
   */
  wait_seconds?: number;
  /**
   * stdin text (at most 1 MiB).
   */
  stdin?: string;
  env?: {
    [k: string]: string;
  };
  /**
   * {ENV_NAME: SECRET_NAME}: secrets as variables.
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
  /**
   * workspace_fork's source and snapshot (null: forked as it was then), else null.
   */
  forked_from: {
    workspace_id: string;
    snapshot_name: string | null;
  } | null;
}
export interface WorkspaceLogsInput {
  workspace_id: string;
  /**
   * Only the last N entries.
   */
  tail?: number;
  /**
   * Only entries after this sequence number (next_after_sequence).
   */
  after_sequence?: number;
  /**
   * At most N entries after after_sequence.
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
export interface WorkspaceDeleteInput {
  workspace_id: string;
}
export interface WorkspaceDeleteResult {
  workspace_id: string;
  deleted: boolean;
}
export interface WorkspaceSummaryInput {
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
  workspace_id: string;
  /**
   * Only the last N entries.
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
export interface SnapshotCreateInput {
  workspace_id: string;
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
  workspace_id: string;
  snapshot_name: string;
}
export interface SnapshotDeleteResult {
  workspace_id: string;
  snapshot_name: string;
  deleted: boolean;
}
export interface WorkspaceResetInput {
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
  /**
   * workspace_fork's source and snapshot (null: forked as it was then), else null.
   */
  forked_from: {
    workspace_id: string;
    snapshot_name: string | null;
  } | null;
}
export interface ShellOpenInput {
  workspace_id: string;
  /**
   * Under /workspace.
   */
  cwd?: string;
  cols?: number;
  rows?: number;
  /**
   * {ENV_NAME: SECRET_NAME}: secrets as variables.
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
  workspace_id: string;
  shell_id: string;
  /**
   * Absolute output offset.
   */
  cursor?: number;
  max_chars?: number;
  /**
   * Wait this long for output past cursor.
   */
  wait_seconds?: number;
  /**
   * Strip escape sequences and apply \r and backspaces (cursors stay raw offsets).
   */
  plain?: boolean;
  /**
   * Read until output pauses this long (or the shell exits, or max_chars); 300 suits a command just typed.
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
  workspace_id: string;
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
  workspace_id: string;
  shell_id: string;
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
  workspace_id: string;
  shell_id: string;
}
export interface ShellCloseResult {
  workspace_id: string;
  shell_id: string;
  closed: boolean;
}
export interface ShellResizeInput {
  workspace_id: string;
  shell_id: string;
  cols?: number;
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
  workspace_id: string;
  service_name: string;
  /**
   * Run by /bin/sh -c.
   */
  command: string;
  /**
   * Under /workspace.
   */
  cwd?: string;
  /**
   * Ready when a file exists, a port or URL answers, or a command succeeds.
   */
  readiness?:
    | {
        type: "file";
        path: string;
      }
    | {
        type: "tcp";
        /**
         * HOST:PORT.
         */
        address: string;
      }
    | {
        type: "http";
        url: string;
      }
    | {
        type: "command";
        command: string;
      };
  /**
   * Seconds to wait for readiness.
   */
  ready_timeout_seconds?: number;
  /**
   * Milliseconds between readiness probes.
   */
  ready_interval_ms?: number;
  env?: {
    [k: string]: string;
  };
  /**
   * {ENV_NAME: SECRET_NAME}: secrets as variables.
   */
  secret_env?: {
    [k: string]: string;
  };
  /**
   * Guest ports to publish on the host's 127.0.0.1 while it runs (needs network_policy egress+published-ports).
   */
  published_ports?: {
    /**
     * Port the service listens on in the guest.
     */
    guest_port: number;
    /**
     * Port on the host's 127.0.0.1 (default: a free one).
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
  workspace_id: string;
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
  workspace_id: string;
  service_name: string;
  /**
   * Last N lines.
   */
  tail_lines?: number;
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
  workspace_id: string;
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
  workspace_id: string;
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
  workspace_id: string;
  command_id: string;
  /**
   * Absolute stdout offset.
   */
  stdout_cursor?: number;
  /**
   * Absolute stderr offset.
   */
  stderr_cursor?: number;
  max_chars?: number;
  /**
   * Block up to this long for new output or the end.
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
  workspace_id: string;
  command_id: string;
  /**
   * Seconds to wait for the command to end (0: answer at once).
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
  workspace_id: string;
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
  workspace_id: string;
  /**
   * Under /workspace.
   */
  path?: string;
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
  workspace_id: string;
  /**
   * Under /workspace.
   */
  path: string;
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
  workspace_id: string;
  /**
   * Under /workspace.
   */
  path: string;
  /**
   * The file's new content (base64 of it with encoding 'base64').
   */
  text: string;
  /**
   * How text is encoded.
   */
  encoding?: "utf8" | "base64";
  /**
   * Permission bits such as '0755' (default: kept, 0644 new).
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
  workspace_id: string;
  /**
   * Under /workspace.
   */
  path?: string;
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
  workspace_id: string;
  /**
   * Under /workspace.
   */
  path: string;
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
  /**
   * workspace_fork's source and snapshot (null: forked as it was then), else null.
   */
  forked_from: {
    workspace_id: string;
    snapshot_name: string | null;
  } | null;
}
export interface WorkspaceStartInput {
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
  /**
   * workspace_fork's source and snapshot (null: forked as it was then), else null.
   */
  forked_from: {
    workspace_id: string;
    snapshot_name: string | null;
  } | null;
}
export interface WorkspaceListInput {
  /**
   * {KEY: VALUE}, all must match.
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
  workspace_id: string;
  /**
   * New unique name (1-64 of [A-Za-z0-9._-]); null removes it.
   */
  name?: string | null;
  /**
   * {KEY: VALUE}, all must match.
   */
  labels?: {
    [k: string]: string;
  };
  /**
   * Label keys to remove.
   */
  clear_labels?: string[];
  /**
   * New idle timeout in seconds, counted from the last activity.
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
  /**
   * workspace_fork's source and snapshot (null: forked as it was then), else null.
   */
  forked_from: {
    workspace_id: string;
    snapshot_name: string | null;
  } | null;
}
export interface WorkspaceForkInput {
  workspace_id: string;
  /**
   * Default: /workspace now.
   */
  snapshot?: string;
  count?: number;
  /**
   * With count > 1: NAME-1..N.
   */
  name?: string;
  /**
   * Added to the source's.
   */
  labels?: {
    [k: string]: string;
  };
}
export interface WorkspaceForkResult {
  /**
   * The source.
   */
  workspace_id: string;
  /**
   * null: forked as it was at the call.
   */
  snapshot_name: string | null;
  count: number;
  workspaces: {
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
    /**
     * workspace_fork's source and snapshot (null: forked as it was then), else null.
     */
    forked_from: {
      workspace_id: string;
      snapshot_name: string | null;
    } | null;
  }[];
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
      "List environments, whether each is pulled (`pyro env pull NAME`), the backend and the cache directory.",
  },
  {
    name: "vm_create",
    method: "createVm",
    description:
      "Create a one-shot VM in state 'created' (boot it with vm_start). limit_exceeded when max active VMs run.",
  },
  {
    name: "vm_start",
    method: "startVm",
    description: "Boot a VM in state 'created' or 'stopped'. Returns the VM record, now 'started'.",
  },
  {
    name: "vm_exec",
    method: "execVm",
    description: "Run one command in a started VM, then delete the VM. exit_code 124: timed out.",
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
      "Create a VM, run one command in it and delete it, even on failure. exit_code 124: timed out.",
  },
  {
    name: "workspace_create",
    method: "createWorkspace",
    description:
      "Create a workspace; /workspace is seeded from seed_path (host directory or .tar/.tgz) and kept as the baseline for diff and reset. With a network_policy, commands reach the network.",
  },
  {
    name: "workspace_exec",
    method: "execWorkspace",
    description:
      "Run a shell command in a workspace and log it. exit_code 124: timed out, 130: cancelled. Still running after wait_seconds (MCP: 50): state 'running', follow its command_id.",
  },
  {
    name: "workspace_status",
    method: "statusWorkspace",
    description: "A workspace's record: state, commands, resets, services, expiry, last_error.",
  },
  {
    name: "workspace_logs",
    method: "logsWorkspace",
    description:
      "The command log since creation or the last reset, with output. Page with tail, or after_sequence + limit.",
  },
  {
    name: "workspace_sync_push",
    method: "pushWorkspaceSync",
    description:
      "Copy a host directory or .tar/.tgz archive into /workspace (under dest); unsafe archive members are refused.",
  },
  {
    name: "workspace_diff",
    method: "diffWorkspace",
    description:
      "Compare /workspace with its baseline: changed, counts, entries and a unified patch.",
  },
  {
    name: "workspace_export",
    method: "exportWorkspace",
    description: "Copy a file or directory under /workspace to a new host output_path.",
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
      "Review a workspace since creation or the last reset: recent commands, changes, snapshots, services, events.",
  },
  {
    name: "workspace_network_log",
    method: "networkLogWorkspace",
    description:
      "Connections the network policy refused (or that failed): host, port, reason. Explains a failed download.",
  },
  {
    name: "snapshot_create",
    method: "createSnapshot",
    description:
      "Save /workspace as a named snapshot for workspace_reset ('baseline' is reserved).",
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
      "Boot a fresh sandbox with /workspace restored from a snapshot (default baseline); clears log, shells, services. Repairs a broken or stopped workspace.",
  },
  {
    name: "shell_open",
    method: "openShell",
    description:
      "Open a persistent bash PTY in a workspace. Returns shell_id for shell_write/shell_read.",
  },
  {
    name: "shell_read",
    method: "readShell",
    description:
      "Read shell output from cursor (pass next_cursor back). plain: true with wait_for_idle_ms: 300 returns a command's output as text.",
  },
  {
    name: "shell_write",
    method: "writeShell",
    description: "Type input into a shell (plus a newline unless append_newline is false).",
  },
  {
    name: "shell_signal",
    method: "signalShell",
    description: "Send a signal to the shell's foreground job (INT is Ctrl-C).",
  },
  {
    name: "shell_close",
    method: "closeShell",
    description: "Close a shell and end everything started in it. Returns {closed: true}.",
  },
  {
    name: "shell_resize",
    method: "resizeShell",
    description: "Set a shell's terminal size (an omitted one is kept); its job gets SIGWINCH.",
  },
  {
    name: "service_start",
    method: "startService",
    description:
      "Start a named long-running command (server, watcher). With readiness it returns once ready (state running) or failed.",
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
    description: "A service's stdout and stderr: the last tail_lines (default 200), or all.",
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
    description: "A command's state and exit_code, without its output.",
  },
  {
    name: "command_read",
    method: "readCommand",
    description:
      "Read a command's output from cursors (pass the next_* cursors back). wait_seconds waits for output or the end.",
  },
  {
    name: "command_wait",
    method: "waitCommand",
    description:
      "Wait up to wait_seconds for a command to end; then returns what workspace_exec returns.",
  },
  {
    name: "command_kill",
    method: "killCommand",
    description: "Kill a command and everything it started (logged with exit_code 130, cancelled).",
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
      "List a directory under /workspace: path, type, size, mode, mtime (symlinks not followed).",
  },
  {
    name: "workspace_file_read",
    method: "readWorkspaceFile",
    description:
      "Read a file under /workspace, up to max_bytes: UTF-8 text, or base64 for binary (encoding says which).",
  },
  {
    name: "workspace_file_write",
    method: "writeWorkspaceFile",
    description:
      "Write a whole file under /workspace atomically (parents created; symlinks refused). text is UTF-8, or base64 with encoding base64.",
  },
  {
    name: "workspace_patch_apply",
    method: "applyWorkspacePatch",
    description:
      "Apply a unified diff (git diff, diff -u) under /workspace, all or nothing; the error lists each failed hunk.",
  },
  {
    name: "workspace_disk_export",
    method: "exportWorkspaceDisk",
    description:
      "Copy a stopped guest workspace's disk to a new host output_path as a raw ext4 image (runtime secrets scrubbed).",
  },
  {
    name: "workspace_disk_list",
    method: "listWorkspaceDisk",
    description:
      "List a directory on a stopped guest workspace's disk without booting it, like workspace_file_list.",
  },
  {
    name: "workspace_disk_read",
    method: "readWorkspaceDisk",
    description:
      "Read a file on a stopped guest workspace's disk without booting it, like workspace_file_read.",
  },
  {
    name: "workspace_stop",
    method: "stopWorkspace",
    description:
      "Stop a workspace's sandbox, keeping /workspace, snapshots and log; commands, services and shells end. workspace_start boots it again.",
  },
  {
    name: "workspace_start",
    method: "startWorkspace",
    description:
      "Boot a stopped workspace again on its kept /workspace (services and shells do not come back).",
  },
  {
    name: "workspace_list",
    method: "listWorkspaces",
    description: "List workspaces, most recently active first. Filter by labels and state.",
  },
  {
    name: "workspace_update",
    method: "updateWorkspace",
    description:
      "Change a workspace's name, labels, ttl_seconds or max_lifetime_seconds (null removes name or hard expiry).",
  },
  {
    name: "workspace_fork",
    method: "forkWorkspace",
    description:
      "New workspaces from a snapshot (default: /workspace now), each a fresh sandbox keeping the source's baseline for diff and reset.",
  },
];

/** One method per catalogue operation, named by its `method`; see PyroOperations. */
export interface PyroMethods {
  /** List environments, whether each is pulled (`pyro env pull NAME`), the backend and the cache directory. (MCP tool `vm_list_environments`) */
  listEnvironments(
    input: VmListEnvironmentsInput,
    options?: CallOptions,
  ): Promise<VmListEnvironmentsResult>;
  /** Create a one-shot VM in state 'created' (boot it with vm_start). limit_exceeded when max active VMs run. (MCP tool `vm_create`) */
  createVm(input: VmCreateInput, options?: CallOptions): Promise<VmCreateResult>;
  /** Boot a VM in state 'created' or 'stopped'. Returns the VM record, now 'started'. (MCP tool `vm_start`) */
  startVm(input: VmStartInput, options?: CallOptions): Promise<VmStartResult>;
  /** Run one command in a started VM, then delete the VM. exit_code 124: timed out. (MCP tool `vm_exec`) */
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
  /** Create a VM, run one command in it and delete it, even on failure. exit_code 124: timed out. (MCP tool `vm_run`) */
  runInVm(input: VmRunInput, options?: CallOptions): Promise<VmRunResult>;
  /** Create a workspace; /workspace is seeded from seed_path (host directory or .tar/.tgz) and kept as the baseline for diff and reset. With a network_policy, commands reach the network. (MCP tool `workspace_create`) */
  createWorkspace(
    input: WorkspaceCreateInput,
    options?: CallOptions,
  ): Promise<WorkspaceCreateResult>;
  /** Run a shell command in a workspace and log it. exit_code 124: timed out, 130: cancelled. Still running after wait_seconds (MCP: 50): state 'running', follow its command_id. (MCP tool `workspace_exec`) */
  execWorkspace(input: WorkspaceExecInput, options?: CallOptions): Promise<WorkspaceExecResult>;
  /** A workspace's record: state, commands, resets, services, expiry, last_error. (MCP tool `workspace_status`) */
  statusWorkspace(
    input: WorkspaceStatusInput,
    options?: CallOptions,
  ): Promise<WorkspaceStatusResult>;
  /** The command log since creation or the last reset, with output. Page with tail, or after_sequence + limit. (MCP tool `workspace_logs`) */
  logsWorkspace(input: WorkspaceLogsInput, options?: CallOptions): Promise<WorkspaceLogsResult>;
  /** Copy a host directory or .tar/.tgz archive into /workspace (under dest); unsafe archive members are refused. (MCP tool `workspace_sync_push`) */
  pushWorkspaceSync(
    input: WorkspaceSyncPushInput,
    options?: CallOptions,
  ): Promise<WorkspaceSyncPushResult>;
  /** Compare /workspace with its baseline: changed, counts, entries and a unified patch. (MCP tool `workspace_diff`) */
  diffWorkspace(input: WorkspaceDiffInput, options?: CallOptions): Promise<WorkspaceDiffResult>;
  /** Copy a file or directory under /workspace to a new host output_path. (MCP tool `workspace_export`) */
  exportWorkspace(
    input: WorkspaceExportInput,
    options?: CallOptions,
  ): Promise<WorkspaceExportResult>;
  /** Stop the workspace's sandbox, services and shells and delete the workspace with its baseline and snapshots. (MCP tool `workspace_delete`) */
  deleteWorkspace(
    input: WorkspaceDeleteInput,
    options?: CallOptions,
  ): Promise<WorkspaceDeleteResult>;
  /** Review a workspace since creation or the last reset: recent commands, changes, snapshots, services, events. (MCP tool `workspace_summary`) */
  summarizeWorkspace(
    input: WorkspaceSummaryInput,
    options?: CallOptions,
  ): Promise<WorkspaceSummaryResult>;
  /** Connections the network policy refused (or that failed): host, port, reason. Explains a failed download. (MCP tool `workspace_network_log`) */
  networkLogWorkspace(
    input: WorkspaceNetworkLogInput,
    options?: CallOptions,
  ): Promise<WorkspaceNetworkLogResult>;
  /** Save /workspace as a named snapshot for workspace_reset ('baseline' is reserved). (MCP tool `snapshot_create`) */
  createSnapshot(input: SnapshotCreateInput, options?: CallOptions): Promise<SnapshotCreateResult>;
  /** List a workspace's snapshots, the baseline first, then named ones by age. (MCP tool `snapshot_list`) */
  listSnapshots(input: SnapshotListInput, options?: CallOptions): Promise<SnapshotListResult>;
  /** Delete a named snapshot. The baseline cannot be deleted. (MCP tool `snapshot_delete`) */
  deleteSnapshot(input: SnapshotDeleteInput, options?: CallOptions): Promise<SnapshotDeleteResult>;
  /** Boot a fresh sandbox with /workspace restored from a snapshot (default baseline); clears log, shells, services. Repairs a broken or stopped workspace. (MCP tool `workspace_reset`) */
  resetWorkspace(input: WorkspaceResetInput, options?: CallOptions): Promise<WorkspaceResetResult>;
  /** Open a persistent bash PTY in a workspace. Returns shell_id for shell_write/shell_read. (MCP tool `shell_open`) */
  openShell(input: ShellOpenInput, options?: CallOptions): Promise<ShellOpenResult>;
  /** Read shell output from cursor (pass next_cursor back). plain: true with wait_for_idle_ms: 300 returns a command's output as text. (MCP tool `shell_read`) */
  readShell(input: ShellReadInput, options?: CallOptions): Promise<ShellReadResult>;
  /** Type input into a shell (plus a newline unless append_newline is false). (MCP tool `shell_write`) */
  writeShell(input: ShellWriteInput, options?: CallOptions): Promise<ShellWriteResult>;
  /** Send a signal to the shell's foreground job (INT is Ctrl-C). (MCP tool `shell_signal`) */
  signalShell(input: ShellSignalInput, options?: CallOptions): Promise<ShellSignalResult>;
  /** Close a shell and end everything started in it. Returns {closed: true}. (MCP tool `shell_close`) */
  closeShell(input: ShellCloseInput, options?: CallOptions): Promise<ShellCloseResult>;
  /** Set a shell's terminal size (an omitted one is kept); its job gets SIGWINCH. (MCP tool `shell_resize`) */
  resizeShell(input: ShellResizeInput, options?: CallOptions): Promise<ShellResizeResult>;
  /** Start a named long-running command (server, watcher). With readiness it returns once ready (state running) or failed. (MCP tool `service_start`) */
  startService(input: ServiceStartInput, options?: CallOptions): Promise<ServiceStartResult>;
  /** List the workspace's services with their states (starting, running, exited, stopped, failed). (MCP tool `service_list`) */
  listServices(input: ServiceListInput, options?: CallOptions): Promise<ServiceListResult>;
  /** Show one service: state, pid, started_at, ready_at, ended_at, exit_code, stop_reason and failure_reason. (MCP tool `service_status`) */
  statusService(input: ServiceStatusInput, options?: CallOptions): Promise<ServiceStatusResult>;
  /** A service's stdout and stderr: the last tail_lines (default 200), or all. (MCP tool `service_logs`) */
  logsService(input: ServiceLogsInput, options?: CallOptions): Promise<ServiceLogsResult>;
  /** Stop a service: SIGTERM to its processes, SIGKILL after a grace period; records stop_reason. (MCP tool `service_stop`) */
  stopService(input: ServiceStopInput, options?: CallOptions): Promise<ServiceStopResult>;
  /** A command's state and exit_code, without its output. (MCP tool `command_status`) */
  statusCommand(input: CommandStatusInput, options?: CallOptions): Promise<CommandStatusResult>;
  /** Read a command's output from cursors (pass the next_* cursors back). wait_seconds waits for output or the end. (MCP tool `command_read`) */
  readCommand(input: CommandReadInput, options?: CallOptions): Promise<CommandReadResult>;
  /** Wait up to wait_seconds for a command to end; then returns what workspace_exec returns. (MCP tool `command_wait`) */
  waitCommand(input: CommandWaitInput, options?: CallOptions): Promise<CommandWaitResult>;
  /** Kill a command and everything it started (logged with exit_code 130, cancelled). (MCP tool `command_kill`) */
  killCommand(input: CommandKillInput, options?: CallOptions): Promise<CommandKillResult>;
  /** List the workspace's recent commands (running ones and the last finished ones), oldest first. (MCP tool `command_list`) */
  listCommands(input: CommandListInput, options?: CallOptions): Promise<CommandListResult>;
  /** List a directory under /workspace: path, type, size, mode, mtime (symlinks not followed). (MCP tool `workspace_file_list`) */
  listWorkspaceFiles(
    input: WorkspaceFileListInput,
    options?: CallOptions,
  ): Promise<WorkspaceFileListResult>;
  /** Read a file under /workspace, up to max_bytes: UTF-8 text, or base64 for binary (encoding says which). (MCP tool `workspace_file_read`) */
  readWorkspaceFile(
    input: WorkspaceFileReadInput,
    options?: CallOptions,
  ): Promise<WorkspaceFileReadResult>;
  /** Write a whole file under /workspace atomically (parents created; symlinks refused). text is UTF-8, or base64 with encoding base64. (MCP tool `workspace_file_write`) */
  writeWorkspaceFile(
    input: WorkspaceFileWriteInput,
    options?: CallOptions,
  ): Promise<WorkspaceFileWriteResult>;
  /** Apply a unified diff (git diff, diff -u) under /workspace, all or nothing; the error lists each failed hunk. (MCP tool `workspace_patch_apply`) */
  applyWorkspacePatch(
    input: WorkspacePatchApplyInput,
    options?: CallOptions,
  ): Promise<WorkspacePatchApplyResult>;
  /** Copy a stopped guest workspace's disk to a new host output_path as a raw ext4 image (runtime secrets scrubbed). (MCP tool `workspace_disk_export`) */
  exportWorkspaceDisk(
    input: WorkspaceDiskExportInput,
    options?: CallOptions,
  ): Promise<WorkspaceDiskExportResult>;
  /** List a directory on a stopped guest workspace's disk without booting it, like workspace_file_list. (MCP tool `workspace_disk_list`) */
  listWorkspaceDisk(
    input: WorkspaceDiskListInput,
    options?: CallOptions,
  ): Promise<WorkspaceDiskListResult>;
  /** Read a file on a stopped guest workspace's disk without booting it, like workspace_file_read. (MCP tool `workspace_disk_read`) */
  readWorkspaceDisk(
    input: WorkspaceDiskReadInput,
    options?: CallOptions,
  ): Promise<WorkspaceDiskReadResult>;
  /** Stop a workspace's sandbox, keeping /workspace, snapshots and log; commands, services and shells end. workspace_start boots it again. (MCP tool `workspace_stop`) */
  stopWorkspace(input: WorkspaceStopInput, options?: CallOptions): Promise<WorkspaceStopResult>;
  /** Boot a stopped workspace again on its kept /workspace (services and shells do not come back). (MCP tool `workspace_start`) */
  startWorkspace(input: WorkspaceStartInput, options?: CallOptions): Promise<WorkspaceStartResult>;
  /** List workspaces, most recently active first. Filter by labels and state. (MCP tool `workspace_list`) */
  listWorkspaces(input: WorkspaceListInput, options?: CallOptions): Promise<WorkspaceListResult>;
  /** Change a workspace's name, labels, ttl_seconds or max_lifetime_seconds (null removes name or hard expiry). (MCP tool `workspace_update`) */
  updateWorkspace(
    input: WorkspaceUpdateInput,
    options?: CallOptions,
  ): Promise<WorkspaceUpdateResult>;
  /** New workspaces from a snapshot (default: /workspace now), each a fresh sandbox keeping the source's baseline for diff and reset. (MCP tool `workspace_fork`) */
  forkWorkspace(input: WorkspaceForkInput, options?: CallOptions): Promise<WorkspaceForkResult>;
}
