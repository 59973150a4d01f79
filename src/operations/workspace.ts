import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { execResult, renderExec } from "./command.js";
import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import {
  commandLogEntryResult,
  diffStatus,
  diffSummary,
  renderWorkspace,
  workspaceResult,
} from "./results.js";
import { renderSummary, workspaceSummary } from "./summary.js";
import { NETWORK_POLICIES } from "../shared/network-policy.js";
import { vmCreateInput } from "./vm.js";
import { LIMITS } from "../shared/limits.js";
import { intAtLeast, intBetween, numberBetween, oneOf } from "./rules.js";

/** A file's mode as git writes it (`100755`), when its permission bits changed. */
const gitFileMode = lazy(() => z.string().nullable());
const artifactType = lazy(() => z.enum(["file", "directory", "symlink"]));

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
    title: "Create workspace",
    effect: "write",
    description:
      "Create a workspace; /workspace is seeded from seed_path (host directory or .tar/.tgz) and kept as the baseline for diff and reset. With a network_policy, commands reach the network.",
    input: () =>
      vmCreateInput().extend({
        seed_path: z.string().describe("Host directory or archive for /workspace.").optional(),
        secrets: z
          .array(
            z.union([
              z.strictObject({ name: z.string(), value: z.string() }),
              z.strictObject({ name: z.string(), file_path: z.string() }),
            ]),
          )
          .describe(
            "{name, value} or {name, file_path} (a host file): given to commands via secret_env, redacted from output.",
          )
          .optional(),
        ttl_seconds: fields.ttl_seconds.describe(
          "Idle timeout in seconds, from the last activity.",
        ),
        name: z
          .string()
          .describe("Unique name, usable as the id: 1-64 of [A-Za-z0-9._-], not 12 hex digits.")
          .optional(),
        labels: z
          .record(z.string(), z.string())
          .describe(
            "{KEY: VALUE}: keys 1-63 of [A-Za-z0-9._/-], values up to 256 characters; at most 32.",
          )
          .optional(),
        max_lifetime_seconds: fields.max_lifetime_seconds,
        network_policy: oneOf(NETWORK_POLICIES)
          .describe(
            "off (default): no network; egress: outbound TCP (allow_hosts); egress+published-ports: also service ports. Guest backends only.",
          )
          .optional(),
        allow_hosts: z
          .array(z.string())
          .describe(
            "NAME[:PORT], *.example.org or IP (host.pyro.internal:PORT: the host's loopback). Empty: any public host.",
          )
          .optional(),
      }),
    output: () => workspaceResult(),
    handler: (manager, input, context) => manager.createWorkspace(input, context),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_exec",
    method: "execWorkspace",
    title: "Run command in workspace",
    effect: "destructive",
    description:
      "Run a shell command in a workspace and log it. exit_code 124: timed out, 130: cancelled. Still running after wait_seconds (MCP: 50): state 'running', follow its command_id.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        command: fields.command,
        timeout_seconds: fields.timeout_seconds,
        cwd: z.string().describe("Under /workspace.").optional(),
        wait_seconds: numberBetween(0, LIMITS.timeoutSeconds.max)
          .describe(
            "Return with state 'running' after this long if not ended; it goes on (default: wait; MCP 50).",
          )
          .optional(),
        stdin: z.string().describe("stdin text (at most 1 MiB).").optional(),
        env: z.record(z.string(), z.string()).optional(),
        secret_env: fields.secret_env,
      }),
    output: () => execResult(),
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
    title: "Workspace status",
    effect: "read",
    description: "A workspace's record: state, commands, resets, services, expiry, last_error.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () => workspaceResult(),
    handler: (manager, input) => manager.statusWorkspace(input.workspace_id),
    render: renderWorkspace,
  }),
  defineOperation({
    name: "workspace_logs",
    method: "logsWorkspace",
    title: "Workspace command log",
    effect: "read",
    description:
      "The command log since creation or the last reset, with output. Page with tail, or after_sequence + limit.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        tail: intBetween(0, 10_000).describe("Only the last N entries.").optional(),
        after_sequence: intAtLeast(0)
          .describe("Only entries after this sequence number (next_after_sequence).")
          .optional(),
        limit: intBetween(1, 10_000).describe("At most N entries after after_sequence.").optional(),
      }),
    output: () =>
      z.object({
        workspace_id: z.string(),
        count: z.number().int().describe("Entries in this result."),
        entries: z.array(commandLogEntryResult()),
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
    title: "Copy host files into workspace",
    effect: "destructive",
    description:
      "Copy a host directory or .tar/.tgz archive into /workspace (under dest); unsafe archive members are refused.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        source_path: z.string().describe("Host directory or .tar/.tar.gz/.tgz archive."),
        dest: z.string().describe("Destination inside /workspace (default /workspace).").optional(),
      }),
    output: () =>
      z.object({
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
    title: "Diff workspace against baseline",
    effect: "read",
    description:
      "Compare /workspace with its baseline: changed, counts, entries and a unified patch.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () =>
      z.object({
        workspace_id: z.string(),
        changed: z.boolean(),
        summary: diffSummary(),
        entries: z.array(
          z.object({
            path: z.string(),
            status: diffStatus(),
            artifact_type: artifactType(),
            text_patch: z.string().nullable(),
            old_mode: gitFileMode(),
            new_mode: gitFileMode(),
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
    title: "Export path to host",
    effect: "write",
    description: "Copy a file or directory under /workspace to a new host output_path.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        path: z.string().describe("Path under /workspace."),
        output_path: z.string().describe("Exact host path to create."),
      }),
    output: () =>
      z.object({
        workspace_id: z.string(),
        workspace_path: z.string(),
        output_path: z.string(),
        artifact_type: artifactType(),
        entry_count: z.number().int(),
      }),
    handler: (manager, { workspace_id, ...input }) => manager.exportWorkspace(workspace_id, input),
    render: (result) =>
      `exported ${result.artifact_type} ${result.workspace_path} to ${result.output_path}`,
  }),
  defineOperation({
    name: "workspace_delete",
    method: "deleteWorkspace",
    title: "Delete workspace",
    effect: "destructive",
    idempotent: true,
    description:
      "Stop the workspace's sandbox, services and shells and delete the workspace with its baseline and snapshots.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () => z.object({ workspace_id: z.string(), deleted: z.boolean() }),
    handler: (manager, input) => manager.deleteWorkspace(input.workspace_id),
    render: (result) => `deleted workspace ${result.workspace_id}`,
  }),
  defineOperation({
    name: "workspace_summary",
    method: "summarizeWorkspace",
    title: "Workspace summary",
    effect: "read",
    description:
      "Review a workspace since creation or the last reset: recent commands, changes, snapshots, services, events.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () => workspaceSummary(),
    handler: (manager, input) => manager.summarizeWorkspace(input.workspace_id),
    render: renderSummary,
  }),
  defineOperation({
    name: "workspace_network_log",
    method: "networkLogWorkspace",
    title: "Workspace network log",
    effect: "read",
    description:
      "Connections the network policy refused (or that failed): host, port, reason. Explains a failed download.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        tail: intBetween(0, 10_000).describe("Only the last N entries.").optional(),
      }),
    output: () =>
      z.object({
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
              .describe(
                "proxy (the egress proxy) or forward (a forwarded host.pyro.internal port).",
              ),
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
