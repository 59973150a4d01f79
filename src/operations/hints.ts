import type { ErrorCode } from "../errors.js";

/**
 * What to do after a failure: appended to MCP tool errors (in MCP terms: tools and fields)
 * and printed by the CLI (commands and flags), so whoever hits an error knows the next call
 * instead of guessing. The advice follows the cause, not only the code: `details.reason`
 * (guest_unavailable, backend_error) and `details.limit` (limit_exceeded) pick a more exact
 * hint where one code has several causes. docs/errors.md documents the same choices.
 *
 * allow_host_compat (commands as host processes, NOT isolated) is offered only when no guest
 * can boot under this configuration: qemu is missing (what `pyro doctor` reports as no usable
 * guest backend), or the operator chose PYRO_BACKEND=host. Never when a guest is one
 * `pyro env pull` away, or when only a capability (network) is missing.
 */
type HintSurface = "mcp" | "cli";

interface Hint {
  mcp: string;
  cli: string;
}

/** The error fields a hint depends on (a PyroError, or its wire form). */
interface HintInput {
  code: ErrorCode;
  details?: Record<string, unknown>;
}

const BY_CODE: Record<ErrorCode, Hint> = {
  invalid_argument: {
    mcp: "Fix the named field (the tool's input schema lists every field) and call again.",
    cli: "fix the named argument or flag (see --help) and run the command again",
  },
  not_found: {
    mcp: "Check the id or name: workspace_status, snapshot_list, service_list or vm_status show what exists; workspace_create or vm_create make a new one.",
    cli: "check the id or name: `pyro workspace status ID`, `pyro workspace snapshot list ID` and `pyro workspace service list ID` show what exists",
  },
  invalid_state: {
    mcp: "Check workspace_status (or vm_status); workspace_reset boots a stopped workspace again (a 'resetting' one is being reset by another call: wait for it), vm_start boots a created VM.",
    cli: "`pyro workspace status ID` shows the state and last_error; `pyro workspace reset ID` boots a stopped workspace again (a 'resetting' one is being reset by another process: wait for it)",
  },
  busy: {
    mcp: "Another call is working on this sandbox (a reset, create or delete): wait for it to finish, then call again; nothing was changed.",
    cli: "another pyro process is working on this sandbox (a reset, create or delete): wait for it to finish and run the command again; nothing was changed",
  },
  limit_exceeded: {
    mcp: "Stay under the limit the message names (details.limit), or raise it where the message says how, then retry.",
    cli: "stay under the limit the message names, or raise it where the message says how, then retry",
  },
  no_space: {
    mcp: "The host's disk is full: delete snapshots (snapshot_delete), workspaces or other files, then retry.",
    cli: "the disk is full: delete snapshots (`pyro workspace snapshot delete`), workspaces or other files, then retry",
  },
  expired: {
    mcp: "Create a new sandbox; pass a larger ttl_seconds (up to 86400) to keep it longer.",
    cli: "create a new sandbox; pass a larger --ttl-seconds (up to 86400) to keep it longer",
  },
  guest_unavailable: {
    mcp: "No guest can run this sandbox here: run `pyro doctor` on the host to see why and what to install.",
    cli: "no guest can run this sandbox here: `pyro doctor` shows why and what to install",
  },
  unsafe_archive: {
    mcp: "Remove the refused member (absolute path, '..', symlink traversal or device) from the archive and try again.",
    cli: "remove the refused member (absolute path, '..', symlink traversal or device) from the archive",
  },
  already_exists: {
    mcp: "Pick another name or output_path, or delete the existing one first.",
    cli: "pick another name or --output path, or delete the existing one first",
  },
  protocol_error: {
    mcp: "The sandbox sent something unexpected: workspace_reset rebuilds a workspace's sandbox; a one-shot VM can be deleted and recreated.",
    cli: "the sandbox sent something unexpected: `pyro workspace reset ID` rebuilds a workspace's sandbox",
  },
  agent_error: {
    mcp: "The sandbox's agent failed: read the message, then workspace_reset to rebuild the workspace's sandbox if it persists.",
    cli: "the sandbox's agent failed: read the message; `pyro workspace reset ID` rebuilds the sandbox if it persists",
  },
  backend_error: {
    mcp: "The sandbox backend failed: run `pyro doctor` to see which backends work on this host.",
    cli: "the sandbox backend failed: `pyro doctor` shows which backends work on this host",
  },
  cancelled: {
    mcp: "The call was cancelled and its command killed (logged with cancelled: true); call again, or run a long command with wait_seconds and poll it with command_read / command_wait.",
    cli: "the command was cancelled and killed (see `pyro workspace logs ID`); run it again, or start it with --wait-seconds and poll it with `pyro workspace command wait ID COMMAND_ID`",
  },
  internal: {
    mcp: "This is a pyro bug; please report it with the message above.",
    cli: "this is a pyro bug; please report it with the message above",
  },
};

/** guest_unavailable by details.reason (set where the error is raised). */
const GUEST_UNAVAILABLE: Record<string, Hint> = {
  // The only case where no guest can boot on this host: host processes are the fallback.
  qemu_missing: {
    mcp: "No guest can boot on this host (qemu is not installed): install it (apt-get install qemu-system-x86) and pull the environment (`pyro env pull debian:12`), or pass allow_host_compat: true to run commands as host processes, which are NOT isolated.",
    cli: "no guest can boot on this host (qemu is not installed): install it (`apt-get install qemu-system-x86`) and run `pyro env pull ENV`, or pass --allow-host-compat to run commands as host processes (NOT isolated)",
  },
  environment_not_pulled: {
    mcp: "A guest can boot here once the environment is in the cache: run `pyro env pull ENVIRONMENT` on the host (vm_list_environments shows which are pulled), then call again.",
    cli: "a guest can boot here once the environment is pulled: run `pyro env pull ENV` (`pyro env list` shows which are), then run the command again",
  },
  network_unsupported: {
    mcp: "This sandbox cannot have the network asked for here (the host backend cannot isolate one; a guest needs socat on the host, see `pyro doctor`): call again without network / with network_policy off, or on a guest backend with guest_network.",
    cli: "this sandbox cannot have the network asked for here (see `pyro doctor`, guest_network): run the command again without --network / with --network-policy off, or on a backend with guest networking",
  },
  host_backend: {
    // The operator chose host: no guest boots under this configuration, whatever the host could do.
    mcp: "The server runs with the host backend (PYRO_BACKEND=host), which boots no guest: pass allow_host_compat: true to run commands as host processes, which are NOT isolated, or restart the server with PYRO_BACKEND=auto for a guest (`pyro doctor` shows whether this host can boot one).",
    cli: "PYRO_BACKEND=host boots no guest: pass --allow-host-compat to run commands as host processes (NOT isolated), or set PYRO_BACKEND=auto for a guest (`pyro doctor` shows whether this host can boot one)",
  },
  backend_unavailable: {
    mcp: "This backend is not available in this release: use PYRO_BACKEND=auto or qemu (`pyro doctor` lists the backends that work here).",
    cli: "this backend is not available in this release: use PYRO_BACKEND=auto or qemu; `pyro doctor` lists the backends that work here",
  },
};

/** backend_error by details.reason. */
const BACKEND_ERROR: Record<string, Hint> = {
  connection_lost: {
    mcp: "The sandbox's process ended or dropped the connection: workspace_status shows why (last_error); workspace_reset boots the workspace again (a one-shot VM: vm_delete and create a new one).",
    cli: "the sandbox's process ended or dropped the connection: `pyro workspace status ID` shows why (last_error); `pyro workspace reset ID` boots it again",
  },
  agent_unreachable: {
    mcp: "The sandbox's agent cannot be reached (its process ended): workspace_status shows why (last_error); workspace_reset boots the workspace again.",
    cli: "the sandbox's agent cannot be reached (its process ended): `pyro workspace status ID` shows why; `pyro workspace reset ID` boots it again",
  },
  boot_timeout: {
    mcp: "The guest did not boot in time: without usable KVM guests boot under TCG (software emulation), which is slow on a busy host; retry, raise PYRO_BOOT_TIMEOUT_SECONDS for the server, or make KVM usable (`pyro doctor` says why it is not).",
    cli: "the guest did not boot in time: without usable KVM guests boot under TCG (software emulation), slow on a busy host; retry, raise PYRO_BOOT_TIMEOUT_SECONDS, or make KVM usable (`pyro doctor` says why it is not)",
  },
  boot_failed: {
    mcp: "The guest failed to boot (the message has its console): run `pyro env pull ENVIRONMENT` on the host to rebuild the environment, and `pyro doctor` to check qemu.",
    cli: "the guest failed to boot (the message has its console): `pyro env pull ENV` rebuilds the environment; `pyro doctor` checks qemu",
  },
};

/** limit_exceeded by details.limit (a quota's environment variable, or a fixed limit's name). */
const LIMIT_EXCEEDED: Record<string, Hint> = {
  max_active_vms: {
    mcp: "Delete a VM or workspace you no longer need (vm_delete, workspace_delete) or run vm_reap_expired, then retry.",
    cli: "delete a one-shot VM or workspace you no longer need, or collect expired ones with `pyro call vm_reap_expired`",
  },
  PYRO_MAX_SNAPSHOTS: {
    mcp: "Delete snapshots you no longer need (snapshot_list, snapshot_delete), or raise PYRO_MAX_SNAPSHOTS for the server, then retry.",
    cli: "delete snapshots you no longer need (`pyro workspace snapshot delete`), or raise PYRO_MAX_SNAPSHOTS, then retry",
  },
  PYRO_MAX_SNAPSHOT_BYTES: {
    mcp: "Delete snapshots you no longer need (snapshot_list, snapshot_delete), or raise PYRO_MAX_SNAPSHOT_BYTES for the server, then retry.",
    cli: "delete snapshots you no longer need (`pyro workspace snapshot delete`), or raise PYRO_MAX_SNAPSHOT_BYTES, then retry",
  },
  shells: {
    mcp: "Close a shell you no longer need (shell_close), then open the new one.",
    cli: "close a shell you no longer need (`pyro workspace shell close ID SHELL`), then open the new one",
  },
  services: {
    mcp: "Stop a service you no longer need (service_stop), or reuse a stopped one's name.",
    cli: "stop a service you no longer need (`pyro workspace service stop ID NAME`), or reuse a stopped one's name",
  },
};

const PULL: Hint = {
  mcp: "The environment is not in the host's cache (or is damaged): run `pyro env pull ENVIRONMENT` on the host, then call again.",
  cli: "the environment is not in the cache (or is damaged): run `pyro env pull ENV` (`pyro env list` shows each one's state), then run the command again",
};

/** invalid_state by details.reason. */
const INVALID_STATE: Record<string, Hint> = {
  workspace_stopped: {
    mcp: "The workspace is stopped: workspace_start boots it again on the same /workspace (workspace_reset restores a snapshot instead); workspace_status, workspace_logs, snapshot_list and workspace_delete work while it is stopped.",
    cli: "the workspace is stopped: `pyro workspace start ID` boots it again on the same /workspace (`pyro workspace reset ID` restores a snapshot instead)",
  },
};

const CAUSES: Partial<Record<ErrorCode, { key: string; hints: Record<string, Hint> }>> = {
  invalid_state: { key: "reason", hints: INVALID_STATE },
  guest_unavailable: { key: "reason", hints: GUEST_UNAVAILABLE },
  backend_error: { key: "reason", hints: { ...BACKEND_ERROR, environment_broken: PULL } },
  not_found: { key: "reason", hints: { environment_not_pulled: PULL } },
  limit_exceeded: { key: "limit", hints: LIMIT_EXCEEDED },
};

/** The next step for an error, worded for MCP clients (default) or the CLI. */
export function nextStep(error: HintInput, surface: HintSurface = "mcp"): string {
  const byCause = CAUSES[error.code];
  const cause = byCause ? error.details?.[byCause.key] : undefined;
  const hint =
    (typeof cause === "string" ? byCause?.hints[cause] : undefined) ?? BY_CODE[error.code];
  return hint[surface];
}
