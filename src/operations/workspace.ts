import { z } from "zod";

import { execResult, renderExec } from "./command.js";
import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import {
  commandLogEntryResult,
  diffStatus,
  diffSummary,
  renderWorkspace,
  snapshotInfo,
  workspaceResult,
} from "./results.js";
import { renderSummary, workspaceSummary } from "./summary.js";
import { NETWORK_POLICIES } from "../shared/network-policy.js";
import { vmCreateInput } from "./vm.js";

/** A file's mode as git writes it (`100755`), when its permission bits changed. */
const gitFileMode = z.string().nullable();
const artifactType = z.enum(["file", "directory", "symlink"]);

/** Most characters of a patch in workspace_diff's text rendering (the result has all of it). */
const RENDERED_PATCH_CHARS = 16 * 1024;

function boundedPatch(patch: string): string {
  if (patch.length <= RENDERED_PATCH_CHARS) return patch.replace(/\n$/, "");
  // Cut at a line end, so no line is shown half.
  const end = patch.lastIndexOf("\n", RENDERED_PATCH_CHARS);
  const shown = patch.slice(0, end > 0 ? end : RENDERED_PATCH_CHARS);
  return `${shown}\n[patch cut at ${shown.length} of ${patch.length} characters: the full patch is the result's patch field (--json), or per file in entries[].text_patch]`;
}

export const workspaceOperations = [
  defineOperation({
    name: "workspace_create",
    method: "createWorkspace",
    description:
      "Create a persistent workspace: boot a sandbox, seed /workspace from seed_path (a host directory or .tar/.tar.gz/.tgz archive; empty without one) and store that tree as the immutable baseline for diff and reset. Returns the workspace record with workspace_id.",
    input: vmCreateInput.extend({
      seed_path: z
        .string()
        .describe("Host directory or archive to seed /workspace from.")
        .optional(),
      secrets: z
        .array(
          z.union([
            z.strictObject({ name: z.string(), value: z.string() }),
            z.strictObject({ name: z.string(), file_path: z.string() }),
          ]),
        )
        .describe(
          "Secrets (create-time only): {name, value} or {name, file_path} (a host UTF-8 file). Names match ^[A-Za-z_][A-Za-z0-9_]{0,63}$; at most 32, 8 KiB each, 64 KiB in all. In the sandbox as files /run/pyro-secrets/NAME; given to commands only through secret_env; values are never stored in the record or logs and are redacted from output.",
        )
        .optional(),
      ttl_seconds: z
        .number()
        .int()
        .describe("Idle timeout in seconds, 60-86400 (default 600), from the last activity.")
        .optional(),
      name: z
        .string()
        .describe(
          "Unique name, usable wherever the id is: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, not 12 hex digits.",
        )
        .optional(),
      labels: z
        .record(z.string(), z.string())
        .describe(
          "Labels as {KEY: VALUE} (keys 1-63 letters, digits, '.', '_', '/' or '-'; values up to 256 characters; at most 32).",
        )
        .optional(),
      max_lifetime_seconds: fields.max_lifetime_seconds,
      network_policy: z
        .enum(NETWORK_POLICIES)
        .describe(
          "off (default): no network device; egress: outbound TCP through pyro's egress proxy, limited by allow_hosts; egress+published-ports: also service_start published_ports. Guest backends only.",
        )
        .optional(),
      allow_hosts: z
        .array(z.string())
        .describe(
          "Hosts the guest may reach (PATTERN[:PORT]: exact names, *.example.org wildcards, IP literals; host.pyro.internal:PORT is the host's loopback on that port). Empty or omitted: any public host. Needs network_policy egress.",
        )
        .optional(),
    }),
    output: workspaceResult,
    handler: (manager, input, context) => manager.createWorkspace(input, context),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_exec",
    method: "execWorkspace",
    description:
      "Run a shell command in a started workspace, in /workspace or a cwd under it, and record it in the command log. Returns exit_code, stdout, stderr and its sequence number; exit_code 124 means it timed out, 130 that it was cancelled. A command still running after wait_seconds (over MCP by default 50 s) is left running in the background: the result then has state 'running', command_id and the output so far; follow it with command_read, command_wait or command_kill.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      command: fields.command,
      timeout_seconds: fields.timeout_seconds,
      cwd: z
        .string()
        .describe("Working directory under /workspace (default /workspace).")
        .optional(),
      wait_seconds: z
        .number()
        .describe(
          "Return after this many seconds with state 'running' if the command has not ended; it goes on in the background (default: wait for the end; over MCP 50).",
        )
        .optional(),
      stdin: z
        .string()
        .describe("Text given to the command on its stdin (at most 1 MiB).")
        .optional(),
      env: z
        .record(z.string(), z.string())
        .describe("Environment variables for the command (names like [A-Za-z_][A-Za-z0-9_]*).")
        .optional(),
      secret_env: fields.secret_env,
    }),
    output: execResult,
    handler: (manager, { workspace_id, ...input }, context) =>
      manager.execWorkspace(
        workspace_id,
        { ...input, wait_seconds: input.wait_seconds ?? context.defaultWaitSeconds },
        { signal: context.signal, onOutput: context.onOutput },
      ),
    render: renderExec,
  }),
  defineOperation({
    name: "workspace_status",
    method: "statusWorkspace",
    description:
      "Show a workspace's record: state, command_count and last_command, reset_count and workspace_reset, service counts, expiry and last_error.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    output: workspaceResult,
    handler: (manager, input) => manager.statusWorkspace(input.workspace_id),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_logs",
    method: "logsWorkspace",
    description:
      "Show the workspace's command log since its creation or last reset: each exec with its exit_code, stdout and stderr (the log keeps at most 64 KiB of each, with stdout_truncated/stderr_truncated set, and about the last 16 MiB of entries; dropped_count says how many older ones rotation dropped). Page with tail (last N entries) or after_sequence + limit (pass next_after_sequence back while has_more).",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      tail: z
        .number()
        .int()
        .describe("Only the last N entries (after after_sequence, if given), 0-10000.")
        .optional(),
      after_sequence: z
        .number()
        .int()
        .describe(
          "Cursor: only entries with a greater sequence number (next_after_sequence of the previous page).",
        )
        .optional(),
      limit: z
        .number()
        .int()
        .describe(
          "At most N entries, the first ones after after_sequence, 1-10000 (default all kept).",
        )
        .optional(),
    }),
    output: z.object({
      workspace_id: z.string(),
      count: z.number().int().describe("Entries in this result."),
      entries: z.array(commandLogEntryResult),
      total_count: z
        .number()
        .int()
        .describe("Entries the log still holds after after_sequence, returned or not."),
      dropped_count: z
        .number()
        .int()
        .describe(
          "Older entries dropped by log rotation (sequence numbers before the first kept).",
        ),
      skipped_corrupt_lines: z
        .number()
        .int()
        .describe("Torn or unreadable log lines skipped (e.g. an append cut short by a crash)."),
      has_more: z.boolean().describe("More entries follow this page."),
      next_after_sequence: z
        .number()
        .int()
        .describe("Pass as after_sequence to get the entries after this page."),
    }),
    handler: (manager, { workspace_id, ...input }) => manager.logsWorkspace(workspace_id, input),
    render: (result) => {
      const lines = result.entries.map(
        (entry) => `#${entry.sequence} exit ${entry.exit_code}  ${entry.command}`,
      );
      if (result.entries.length === 0) lines.push("no commands yet");
      if (result.dropped_count > 0)
        lines.push(`(${result.dropped_count} older entries were dropped by log rotation)`);
      if (result.skipped_corrupt_lines > 0)
        lines.push(`(${result.skipped_corrupt_lines} torn or unreadable log lines skipped)`);
      if (result.has_more) lines.push(`(more: --after-sequence ${result.next_after_sequence})`);
      return lines.join("\n");
    },
  }),
  defineOperation({
    name: "workspace_sync_push",
    method: "pushWorkspaceSync",
    description:
      "Copy a host directory or .tar/.tar.gz/.tgz archive into a started workspace under dest (default /workspace; a dest outside /workspace is refused). Unsafe archive members are refused before anything is written.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      source_path: z.string().describe("Host directory or .tar/.tar.gz/.tgz archive."),
      dest: z.string().describe("Destination inside /workspace (default /workspace).").optional(),
    }),
    output: z.object({
      workspace_id: z.string(),
      workspace_sync: z.object({
        mode: z.enum(["directory", "tar_archive"]),
        source_path: z.string(),
        destination: z.string(),
        entry_count: z.number().int(),
        bytes_written: z.number().int(),
      }),
    }),
    handler: (manager, { workspace_id, ...input }) =>
      manager.pushWorkspaceSync(workspace_id, input),
    render: ({ workspace_sync: sync }) =>
      `pushed ${sync.entry_count} entries (${sync.bytes_written} bytes) from ${sync.source_path} to ${sync.destination}`,
  }),
  defineOperation({
    name: "workspace_diff",
    method: "diffWorkspace",
    description:
      "Compare a started workspace's /workspace with its creation baseline. Returns changed, a summary of counts, entries (path, status, artifact_type, text_patch, old_mode, new_mode) and a unified patch. A file whose permission bits alone changed is mode_changed; a modified file whose mode changed too has old_mode/new_mode set; both get git's old mode/new mode lines in the patch.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    output: z.object({
      workspace_id: z.string(),
      changed: z.boolean(),
      summary: diffSummary,
      entries: z.array(
        z.object({
          path: z.string(),
          status: diffStatus,
          artifact_type: artifactType,
          text_patch: z.string().nullable(),
          old_mode: gitFileMode,
          new_mode: gitFileMode,
        }),
      ),
      patch: z.string(),
    }),
    handler: (manager, input) => manager.diffWorkspace(input.workspace_id),
    render: (result) => {
      if (!result.changed) return "no changes since the baseline";
      const { added, modified, deleted, type_changed, mode_changed } = result.summary;
      const lines = result.entries.map(
        (entry) =>
          `${entry.status.padEnd(12)} ${entry.path}` +
          (entry.old_mode !== null ? ` (mode ${entry.old_mode} -> ${entry.new_mode})` : ""),
      );
      lines.push(
        `${result.summary.total} changed: ${added} added, ${modified} modified, ${deleted} deleted, ${type_changed} type changed, ${mode_changed} mode changed`,
      );
      // The patch itself, so a model reading only the text sees the change, bounded.
      if (result.patch !== "") lines.push("", boundedPatch(result.patch));
      return lines.join("\n");
    },
  }),
  defineOperation({
    name: "workspace_export",
    method: "exportWorkspace",
    description:
      "Copy one file or directory from under /workspace of a started workspace to a host output_path that must not exist yet. Symlinks and empty directories survive.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      path: z.string().describe("Path under /workspace."),
      output_path: z.string().describe("Exact host path to create."),
    }),
    output: z.object({
      workspace_id: z.string(),
      workspace_path: z.string(),
      output_path: z.string(),
      artifact_type: artifactType,
      entry_count: z.number().int(),
    }),
    handler: (manager, { workspace_id, ...input }) => manager.exportWorkspace(workspace_id, input),
    render: (result) =>
      `exported ${result.artifact_type} ${result.workspace_path} to ${result.output_path}`,
  }),
  defineOperation({
    name: "snapshot_create",
    method: "createSnapshot",
    description:
      "Save a started workspace's current /workspace tree as a named snapshot that workspace_reset can restore. The name 'baseline' is reserved.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      snapshot_name: fields.snapshot_name,
    }),
    output: z.object({ workspace_id: z.string(), snapshot: snapshotInfo }),
    handler: (manager, input) => manager.createSnapshot(input.workspace_id, input.snapshot_name),
    render: ({ snapshot }) =>
      `snapshot ${snapshot.snapshot_name} saved (${snapshot.size_bytes} bytes)`,
  }),
  defineOperation({
    name: "snapshot_list",
    method: "listSnapshots",
    description: "List a workspace's snapshots, the baseline first, then named ones by age.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    output: z.object({
      workspace_id: z.string(),
      count: z.number().int(),
      snapshots: z.array(snapshotInfo),
    }),
    handler: (manager, input) => manager.listSnapshots(input.workspace_id),
    render: (result) =>
      result.snapshots
        .map(
          (snapshot) =>
            `${snapshot.snapshot_name.padEnd(20)} ${snapshot.kind.padEnd(8)} ${snapshot.size_bytes} bytes`,
        )
        .join("\n"),
  }),
  defineOperation({
    name: "snapshot_delete",
    method: "deleteSnapshot",
    description: "Delete a named snapshot. The baseline cannot be deleted.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      snapshot_name: fields.snapshot_name,
    }),
    output: z.object({
      workspace_id: z.string(),
      snapshot_name: z.string(),
      deleted: z.boolean(),
    }),
    handler: (manager, input) => manager.deleteSnapshot(input.workspace_id, input.snapshot_name),
    render: (result) => `deleted snapshot ${result.snapshot_name}`,
  }),
  defineOperation({
    name: "workspace_reset",
    method: "resetWorkspace",
    description:
      "Destroy the workspace's sandbox, boot a fresh one and restore /workspace from a snapshot (default baseline). Clears the command log, shells and services; keeps the id, baseline and snapshots; reset_count goes up by one. Also repairs a stopped workspace.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      snapshot: z.string().describe("Snapshot to restore (default baseline).").optional(),
    }),
    output: workspaceResult,
    handler: (manager, { workspace_id, ...input }, context) =>
      manager.resetWorkspace(workspace_id, input, context),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_delete",
    method: "deleteWorkspace",
    description:
      "Stop the workspace's sandbox, services and shells and delete the workspace with its baseline and snapshots.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    output: z.object({ workspace_id: z.string(), deleted: z.boolean() }),
    handler: (manager, input) => manager.deleteWorkspace(input.workspace_id),
    render: (result) => `deleted workspace ${result.workspace_id}`,
  }),
  defineOperation({
    name: "workspace_summary",
    method: "summarizeWorkspace",
    description:
      "Review a workspace since its creation or last reset, in one bounded result: the newest 20 commands with exit codes (and how many more), commands still running, what changed under /workspace (diff counts and up to 50 paths; needs a started workspace), named snapshots, services, and the journal of syncs, exports, snapshot and service changes. For a model or a person coming back to a workspace.",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    output: workspaceSummary,
    handler: (manager, input) => manager.summarizeWorkspace(input.workspace_id),
    render: renderSummary,
  }),
  defineOperation({
    name: "workspace_network_log",
    method: "networkLogWorkspace",
    description:
      "Show the connections a workspace's guest was refused by its network policy (or could not make): host, port, reason and time, oldest first. The log outlives resets and keeps about the last 256-512 KiB of entries. Use it to see why a download or `npm install` failed.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      tail: z.number().int().describe("Only the last N entries, 0-10000.").optional(),
    }),
    output: z.object({
      workspace_id: z.string(),
      network_policy: z.enum(NETWORK_POLICIES),
      allow_hosts: z.array(z.string()),
      count: z.number().int().describe("Entries in this result."),
      total_count: z.number().int().describe("Entries the log holds."),
      skipped_corrupt_lines: z.number().int(),
      entries: z.array(
        z.object({
          time: z.number().describe("Epoch seconds."),
          host: z.string(),
          port: z.number().int(),
          reason: z.string(),
          via: z
            .string()
            .describe("proxy (the egress proxy) or forward (a forwarded host.pyro.internal port)."),
          action: z.enum(["refused", "failed"]),
        }),
      ),
    }),
    handler: (manager, { workspace_id, ...input }) =>
      manager.networkLogWorkspace(workspace_id, input),
    render: (result) => {
      const lines = result.entries.map(
        (entry) =>
          `${new Date(entry.time * 1000).toISOString()} ${entry.action} ${entry.host}:${entry.port} (${entry.via}): ${entry.reason}`,
      );
      if (result.entries.length === 0) {
        lines.push(
          result.network_policy === "off"
            ? "networking is off (network_policy off): nothing to log"
            : "no refused connections",
        );
      }
      return lines.join("\n");
    },
  }),
];
