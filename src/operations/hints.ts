import type { ErrorCode } from "../errors.js";

/**
 * What to do after a failure, by error code, in MCP terms (tools and fields): appended to
 * MCP tool errors so an agent that hits an error knows its next call instead of guessing.
 * The CLI words the same advice with commands and flags (src/cli/output.ts).
 */
const NEXT_STEPS: Record<ErrorCode, string> = {
  invalid_argument:
    "Fix the named field (the tool's input schema lists every field) and call again.",
  not_found:
    "Check the id or name: workspace_status, snapshot_list, service_list or vm_status show what exists; workspace_create or vm_create make a new one.",
  invalid_state:
    "Check workspace_status (or vm_status); workspace_reset boots a stopped workspace again (a 'resetting' one is being reset by another call: wait for it), vm_start boots a created VM.",
  limit_exceeded:
    "Delete a VM or workspace you no longer need (vm_delete, workspace_delete) or run vm_reap_expired, then retry.",
  no_space:
    "The host's disk is full: delete snapshots (snapshot_delete), workspaces or other files, then retry.",
  expired: "Create a new sandbox; pass a larger ttl_seconds (up to 86400) to keep it longer.",
  guest_unavailable:
    "No guest can boot on this host: pass allow_host_compat: true to run commands as host processes, which are NOT isolated, or run `pyro doctor`.",
  unsafe_archive:
    "Remove the refused member (absolute path, '..', symlink traversal or device) from the archive and try again.",
  already_exists: "Pick another name or output_path, or delete the existing one first.",
  protocol_error:
    "The sandbox sent something unexpected: workspace_reset rebuilds a workspace's sandbox; a one-shot VM can be deleted and recreated.",
  agent_error:
    "The sandbox's agent failed: read the message, then workspace_reset to rebuild the workspace's sandbox if it persists.",
  backend_error:
    "The sandbox backend failed: run `pyro doctor` to see which backends work on this host.",
  internal: "This is a pyro bug; please report it with the message above.",
};

export function nextStep(code: ErrorCode): string {
  return NEXT_STEPS[code];
}
