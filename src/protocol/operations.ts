/**
 * Every agent operation with the schema of its request body and of its response body. The
 * agent checks a request against its schema before the handler runs; the client checks every
 * response before handing it to the caller, so both sides see typed values, never casts.
 *
 * zod/mini keeps the guest bundle small (it is tree-shakable; the full zod API is not).
 * The objects are loose: a field this build does not know passes through untouched, so a
 * newer peer may add fields without a protocol bump (see docs/protocol.md, versioning).
 * The handlers keep their own finer checks (ranges, path rules) with their own messages;
 * these schemas make sure each field has the type the handler reads it as.
 */
import * as z from "zod/mini";

import {
  str,
  num,
  int,
  bool,
  optional,
  nullable,
  empty,
  ExecResult,
  Shell,
  ServiceName,
  Service,
  Command,
  CommandOutput,
  CommandId,
  ArchiveExported,
  FileEntry,
  ManifestSent,
} from "./operation-shapes.js";
import { check, type Checked } from "./schema-check.js";

/**
 * One entry per operation: what the client sends and what the agent answers, built on the
 * operation's first check and kept (schemas() below): a CLI call builds the schemas of the
 * few operations it sends, not all of them.
 */
const OPERATIONS = {
  exec: () => ({
    request: z.looseObject({
      command: str(),
      cwd: optional(str()),
      env: optional(z.record(z.string(), z.string())),
      timeout_seconds: optional(num()),
      max_output_bytes: optional(num()),
    }),
    response: z.looseObject({ ...ExecResult(), cwd: str() }),
  }),
  "archive.import": () => ({
    request: z.looseObject({
      destination: optional(str()),
      host_validated: optional(bool()),
      // Give the destination the archive root's mode and mtime (a reset); an older agent
      // ignores it and always did.
      restore_root: optional(bool()),
    }),
    response: z.looseObject({
      destination: str(),
      validated_by: z.enum(["agent", "host"]),
      entry_count: optional(int()),
      bytes_written: optional(num()),
    }),
  }),
  "archive.export": () => ({
    request: z.looseObject({ path: optional(str()) }),
    response: z.looseObject(ArchiveExported()),
  }),
  "tree.manifest": () => ({
    request: z.looseObject({ path: optional(str()), since: optional(str()) }),
    response: z.looseObject(ManifestSent()),
  }),
  "files.read": () => ({
    request: z.looseObject({ paths: z.array(str()) }),
    response: z.looseObject({ count: int(), missing: z.array(str()) }),
  }),
  "shell.open": () => ({
    request: z.looseObject({
      cwd: optional(str()),
      cols: optional(num()),
      rows: optional(num()),
      command: optional(str()),
      env: optional(z.record(z.string(), z.string())),
    }),
    response: z.looseObject(Shell()),
  }),
  "shell.read": () => ({
    request: z.looseObject({
      shell_id: str(),
      cursor: optional(num()),
      max_chars: optional(num()),
      wait_seconds: optional(num()),
    }),
    response: z.looseObject({
      ...Shell(),
      output: str(),
      cursor: int(),
      next_cursor: int(),
      truncated: bool(),
      dropped_chars: int(),
      buffer_start: int(),
      buffer_end: int(),
    }),
  }),
  "shell.write": () => ({
    request: z.looseObject({ shell_id: str(), input: str(), append_newline: optional(bool()) }),
    response: z.looseObject({ ...Shell(), input_length: int(), append_newline: bool() }),
  }),
  "shell.signal": () => ({
    request: z.looseObject({ shell_id: str(), signal: optional(str()) }),
    response: z.looseObject({
      ...Shell(),
      signal: z.enum(["HUP", "INT", "TERM", "KILL"]),
      target_pgid: int(),
    }),
  }),
  "shell.close": () => ({
    request: z.looseObject({ shell_id: str() }),
    response: z.looseObject({ shell_id: str(), closed: z.literal(true) }),
  }),
  "shell.list": () => ({
    request: empty(),
    response: z.looseObject({ shells: z.array(z.looseObject(Shell())) }),
  }),
  "shell.close_all": () => ({
    request: empty(),
    response: z.looseObject({ closed_count: int() }),
  }),
  "service.start": () => ({
    request: z.looseObject({
      ...ServiceName(),
      command: str(),
      cwd: optional(str()),
      readiness: optional(nullable(z.record(z.string(), z.unknown()))),
      ready_timeout_seconds: optional(num()),
      ready_interval_ms: optional(num()),
      env: optional(z.record(z.string(), z.string())),
    }),
    response: Service(),
  }),
  "service.list": () => ({
    request: empty(),
    response: z.looseObject({ count: int(), running_count: int(), services: z.array(Service()) }),
  }),
  "service.status": () => ({
    request: z.looseObject(ServiceName()),
    response: Service(),
  }),
  "service.logs": () => ({
    request: z.looseObject({ ...ServiceName(), tail_lines: optional(nullable(num())) }),
    response: z.looseObject({
      ...Service().shape,
      stdout: str(),
      stderr: str(),
      tail_lines: nullable(int()),
      truncated: bool(),
      stdout_truncated: bool(),
      stderr_truncated: bool(),
    }),
  }),
  "service.stop": () => ({
    request: z.looseObject(ServiceName()),
    response: Service(),
  }),
  "service.stop_all": () => ({
    request: z.looseObject({ remove: optional(bool()) }),
    response: z.looseObject({ stopped_count: int(), services: z.array(Service()) }),
  }),
  shutdown: () => ({
    request: empty(),
    response: z.looseObject({ shutting_down: z.literal(true) }),
  }),
  "shell.resize": () => ({
    request: z.looseObject({ shell_id: str(), cols: optional(num()), rows: optional(num()) }),
    response: z.looseObject(Shell()),
  }),
  // Bulk transfers through the transfer disk (docs/protocol.md). An agent without the disk
  // does not register them: the host then uses archive.import/export instead.
  "archive.import_disk": () => ({
    request: z.looseObject({
      destination: optional(str()),
      /** Length of the canonical tar at the start of the transfer disk. */
      bytes: int(),
      /** Into a fresh, empty() /workspace (create, reset): no destination checks. */
      fresh: optional(bool()),
      /** [path, member] pairs: existing symlinks there must not be traversed. */
      prefixes: optional(z.array(z.tuple([str(), str()]))),
      /** [path, member] pairs: directory members, which must not land on a symlink. */
      directories: optional(z.array(z.tuple([str(), str()]))),
    }),
    response: z.looseObject({ destination: str(), validated_by: z.enum(["agent", "host"]) }),
  }),
  "archive.export_disk": () => ({
    request: z.looseObject({ path: optional(str()) }),
    // size_bytes: the length of the tar the agent wrote at the start of the transfer disk.
    response: z.looseObject(ArchiveExported()),
  }),
  // Commands owned by the agent (streaming, cancellation, background); an agent without
  // them lacks them in its hello's capabilities and the host falls back to `exec`.
  "command.run": () => ({
    request: z.looseObject({
      ...CommandId(),
      command: str(),
      cwd: optional(str()),
      env: optional(z.record(z.string(), z.string())),
      timeout_seconds: optional(num()),
      max_output_bytes: optional(num()),
      stdin: optional(str()),
      stream: optional(bool()),
      wait_ms: optional(num()),
    }),
    // others_unlogged: finished commands besides this one not yet in the log.
    response: z.looseObject({ ...CommandOutput(), others_unlogged: optional(int()) }),
  }),
  "command.list": () => ({
    request: empty(),
    response: z.looseObject({ commands: z.array(z.looseObject(Command())) }),
  }),
  "command.read": () => ({
    request: z.looseObject({
      ...CommandId(),
      stdout_cursor: optional(num()),
      stderr_cursor: optional(num()),
      max_chars: optional(num()),
      wait_ms: optional(num()),
    }),
    response: z.looseObject({
      ...Command(),
      stdout: str(),
      stderr: str(),
      stdout_cursor: int(),
      stderr_cursor: int(),
      next_stdout_cursor: int(),
      next_stderr_cursor: int(),
      stdout_dropped_chars: int(),
      stderr_dropped_chars: int(),
      truncated: bool(),
    }),
  }),
  "command.wait": () => ({
    request: z.looseObject({ ...CommandId(), wait_ms: optional(num()) }),
    response: z.looseObject(CommandOutput()),
  }),
  "command.kill": () => ({
    request: z.looseObject(CommandId()),
    response: z.looseObject(CommandOutput()),
  }),
  "command.claim": () => ({
    request: z.looseObject(CommandId()),
    response: z.looseObject({
      ...CommandOutput(),
      claim_state: z.enum(["fresh", "stale", "logged"]),
    }),
  }),
  "command.ack": () => ({
    request: z.looseObject({ ...CommandId(), sequence: nullable(num()) }),
    response: z.looseObject(Command()),
  }),
  // Workspace secrets (docs/secrets.md): replaces every file of the sandbox's secrets
  // directory (a guest's /run/pyro-secrets, a tmpfs). An agent without it lacks it in its
  // capabilities; the host then refuses to boot a workspace that has secrets with it.
  "secrets.write": () => ({
    request: z.looseObject({ secrets: z.array(z.looseObject({ name: str(), value: str() })) }),
    response: z.looseObject({ dir: str(), count: int() }),
  }),
  // Single files under /workspace (workspace_file_*, workspace_patch_apply); an agent
  // without them lacks them in its hello's capabilities and the host says to reset.
  "file.list": () => ({
    request: z.looseObject({
      path: optional(str()),
      recursive: optional(bool()),
      max_entries: optional(num()),
    }),
    response: z.looseObject({
      path: str(),
      entries: z.array(z.looseObject(FileEntry())),
      truncated: bool(),
    }),
  }),
  "file.read": () => ({
    request: z.looseObject({ path: str(), max_bytes: optional(num()) }),
    response: z.looseObject({
      path: str(),
      size: num(),
      content_base64: str(),
      truncated: bool(),
      mode: str(),
      mtime: num(),
    }),
  }),
  "file.write": () => ({
    request: z.looseObject({ path: str(), content_base64: str(), mode: optional(str()) }),
    response: z.looseObject({ path: str(), size: num(), mode: str(), created: bool() }),
  }),
  "patch.apply": () => ({
    request: z.looseObject({ patch: str() }),
    response: z.looseObject({
      files: z.array(
        z.looseObject({
          path: str(),
          status: z.enum(["added", "modified", "deleted"]),
          hunks: int(),
          ok: bool(),
        }),
      ),
    }),
  }),
  /**
   * Sent by the VM supervisor first to a guest restored from a template (docs/qemu-backend.md):
   * entropy, time, hostname, machine id and instance id, so no two restored sandboxes share
   * random state or identity; only a guest agent serves it (capability rule).
   */
  "guest.refresh": () => ({
    request: z.looseObject({
      entropy_b64: str(),
      host_time_ms: num(),
      hostname: str(),
      machine_id: str(),
      instance_id: str(),
      mount_volume: optional(bool()), // also `volume.mount`, last: one round trip for both
    }),
    response: z.looseObject({
      rng_reseeded: bool(),
      rng_detail: str(),
      clock_set: bool(),
      hostname: str(),
      machine_id: str(),
      instance_id: str(),
      volume: optional(z.looseObject({ device: str(), already_mounted: bool() })), // if asked
    }),
  }),
  /**
   * Mounts the workspace volume (virtio-blk, serial `pyro-workspace`) at /workspace, its
   * buffer cache dropped first (a template probed a placeholder). Sent by the VM supervisor
   * once the guest is ready; twice is a no-op. Only a guest agent serves it.
   */
  "volume.mount": () => ({
    request: z.looseObject({}),
    response: z.looseObject({ device: str(), already_mounted: bool() }),
  }),
  /**
   * Flushes and freezes /workspace (fsfreeze) so the host can seal the volume's top layer;
   * the agent thaws it on its own after `thaw_after_ms`, so a host that dies mid-snapshot
   * never leaves the guest frozen.
   */
  "volume.freeze": () => ({
    request: z.looseObject({ thaw_after_ms: num() }),
    response: z.looseObject({ frozen: bool() }),
  }),
  "volume.thaw": () => ({
    request: z.looseObject({}),
    response: z.looseObject({ thawed: bool() }),
  }),
} as const;

type Operations = { [Op in keyof typeof OPERATIONS]: ReturnType<(typeof OPERATIONS)[Op]> };

export type AgentOp = keyof Operations;
/** What a caller passes for `op` (the schema's input type: optional fields may be left out). */
export type AgentRequest<Op extends AgentOp> = z.input<Operations[Op]["request"]>;
/** What the agent answers for `op`, as checked by the client. */
export type AgentResponse<Op extends AgentOp> = z.output<Operations[Op]["response"]>;
/** A request body as the handler receives it (after the schema ran). */
export type AgentParams<Op extends AgentOp> = z.output<Operations[Op]["request"]>;
/** What a handler returns for `op` (checked against the response schema before it is sent). */
export type AgentReply<Op extends AgentOp> = z.input<Operations[Op]["response"]>;

export const AGENT_OPS = Object.keys(OPERATIONS).sort() as AgentOp[];

export function isAgentOp(op: string): op is AgentOp {
  return Object.hasOwn(OPERATIONS, op);
}

const built = new Map<AgentOp, { request: z.ZodMiniType; response: z.ZodMiniType }>();

/** The request and response schemas of `op`, built on first use (src/shared/lazy.ts's reason). */
function schemas(op: AgentOp): { request: z.ZodMiniType; response: z.ZodMiniType } {
  let entry = built.get(op);
  if (!entry) {
    entry = OPERATIONS[op]();
    built.set(op, entry);
  }
  return entry;
}

/** The schema of the agent's answer to `op`, for scripts/fast-schemas.ts. */
export const responseSchema = (op: AgentOp): z.ZodMiniType => schemas(op).response;

export function checkRequest<Op extends AgentOp>(op: Op, body: unknown): Checked<AgentParams<Op>> {
  // TypeScript cannot correlate the table's entry with Op's types; the table is the one source.
  return check(schemas(op).request as unknown as z.ZodMiniType<AgentParams<Op>>, body);
}

export function checkResponse<Op extends AgentOp>(
  op: Op,
  body: unknown,
): Checked<AgentResponse<Op>> {
  return check(schemas(op).response as unknown as z.ZodMiniType<AgentResponse<Op>>, body);
}
