import fs from "node:fs/promises";

import { z } from "zod";

import { PyroError } from "../errors.js";
import { checkedSchema, safeParse, type LazySchema } from "../shared/fast-check.js";
import { lazy } from "../shared/lazy.js";
import { NETWORK_POLICIES } from "../shared/network-policy.js";
import { writeJsonAtomic } from "./atomic.js";

// Every schema is built on first use (src/shared/lazy.ts), and the records a read-only call
// reads are checked by their generated JSON schemas first (src/shared/fast-check.ts): a
// call that only reads builds none of them and never loads zod.

export const SCHEMA_VERSION = 1;

const RuntimeSchema = lazy(() =>
  z.object({
    pid: z.number().int(),
    /** /proc start time of `pid`, so a recycled pid is never mistaken for our agent. */
    pid_start_ticks: z.number().nullable(),
    socket_path: z.string(),
    started_at: z.number(),
    agent_version: z.string(),
    /** Guest backends: the VMM the supervisor (`pid`) runs, checked on its own. */
    vmm_pid: z.number().int().nullable().optional(),
    vmm_pid_start_ticks: z.number().nullable().optional(),
    /** qemu: `template` (restored from a booted-guest template) or `cold` (booted). */
    boot_mode: z.enum(["cold", "template"]).optional(),
    /** qemu: why a cold boot was not a restore from a template (docs/qemu-backend.md). */
    template_fallback: z.string().nullable().optional(),
  }),
);
export type RuntimeRecord = z.infer<ReturnType<typeof RuntimeSchema>>;

/** What every sandbox record and result carries, whatever its kind (VM or workspace). */
export const SandboxCommonSchema = lazy(() =>
  z.object({
    environment: z.string(),
    backend: z.string(),
    vcpu_count: z.number().int(),
    mem_mib: z.number().int(),
    ttl_seconds: z.number().int(),
    allow_host_compat: z.boolean(),
    created_at: z.number(),
    expires_at: z.number(),
    execution_mode: z.string(),
    last_error: z.string().nullable(),
  }),
);
export type SandboxCommon = z.infer<ReturnType<typeof SandboxCommonSchema>>;

const SandboxFields = () => ({
  schema_version: z.literal(SCHEMA_VERSION),
  ...SandboxCommonSchema().shape,
  network_requested: z.boolean(),
  runtime: RuntimeSchema().nullable(),
  /** Records written before guest networking lack both: off (or egress if network_requested). */
  network_policy: z.enum(NETWORK_POLICIES).optional(),
  /** allow_hosts patterns as validated (src/shared/network-policy.ts); empty: any public host. */
  allow_hosts: z.array(z.string()).optional(),
});

export const VmRecordSchema = checkedSchema("record:VmRecord", () =>
  z.object({
    kind: z.literal("vm"),
    vm_id: z.string(),
    state: z.enum(["created", "started", "stopped"]),
    ...SandboxFields(),
  }),
);
export type VmRecord = z.infer<ReturnType<typeof VmRecordSchema>>;

const WorkspaceSeedSchema = lazy(() =>
  z.object({
    mode: z.enum(["empty", "directory", "tar_archive"]),
    seed_path: z.string().nullable(),
    entry_count: z.number().int().optional(),
    bytes_written: z.number().int().optional(),
  }),
);
export type WorkspaceSeed = z.infer<ReturnType<typeof WorkspaceSeedSchema>>;

export const CommandLogEntrySchema = checkedSchema("record:CommandLogEntry", () =>
  z.object({
    sequence: z.number().int(),
    command: z.string(),
    cwd: z.string(),
    exit_code: z.number().int(),
    stdout: z.string(),
    stderr: z.string(),
    duration_ms: z.number(),
    started_at: z.number(),
    finished_at: z.number(),
    timed_out: z.boolean(),
    /** The log keeps at most 64 KiB of each (src/core/command-log.ts); older entries lack these. */
    stdout_truncated: z.boolean().optional(),
    stderr_truncated: z.boolean().optional(),
    command_truncated: z.boolean().optional(),
    /** The command's id in its sandbox (workspace_exec, command_*); older entries lack it. */
    command_id: z.string().optional(),
    /** The caller cancelled it (or command_kill killed it); exit_code is then 130. */
    cancelled: z.boolean().optional(),
  }),
);
export type CommandLogEntry = z.infer<ReturnType<typeof CommandLogEntrySchema>>;

/** The workspace record's summary of its latest command: the log entry without its output. */
export const LastCommandSchema = lazy(() =>
  CommandLogEntrySchema().pick({
    sequence: true,
    command: true,
    cwd: true,
    exit_code: true,
    duration_ms: true,
    finished_at: true,
  }),
);

/** What the record keeps of a secret: never its value (src/core/secrets.ts). */
const WorkspaceSecretSchema = lazy(() =>
  z.object({
    name: z.string(),
    source_kind: z.enum(["literal", "file"]),
  }),
);
export type WorkspaceSecret = z.infer<ReturnType<typeof WorkspaceSecretSchema>>;

export const WorkspaceResetSchema = lazy(() =>
  z.object({ snapshot_name: z.string(), reset_at: z.number() }),
);

export const WorkspaceRecordSchema = checkedSchema("record:WorkspaceRecord", () =>
  z.object({
    kind: z.literal("workspace"),
    workspace_id: z.string(),
    /**
     * `resetting`: a reset holds the workspace's lock and is replacing its sandbox;
     * `stopping`/`starting`: workspace_stop/workspace_start hold it (a holder that died
     * leaves the workspace stopped, see refreshWorkspace).
     */
    state: z.enum(["started", "stopped", "resetting", "stopping", "starting"]),
    ...SandboxFields(),
    workspace_seed: WorkspaceSeedSchema(),
    command_count: z.number().int(),
    last_command: LastCommandSchema().nullable(),
    reset_count: z.number().int(),
    workspace_reset: WorkspaceResetSchema().nullable(),
    /** Names and source kinds of the workspace's secrets; records from before them have none. */
    secrets: z.array(WorkspaceSecretSchema()).default([]),
    /** Optional unique name (workspace_create/workspace_update); absent in older records. */
    name: z.string().nullable().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    /**
     * Hard expiry (epoch seconds) whatever the activity; null/absent for none. ttl_seconds is
     * the idle timeout, measured from the activity file's mtime (src/core/workspace-expiry.ts).
     */
    hard_expires_at: z.number().nullable().optional(),
    /** When the workspace was last stopped by workspace_stop (null while started). */
    stopped_at: z.number().nullable().optional(),
    /**
     * workspace_fork: the workspace and snapshot this one was forked from (snapshot_name
     * null: /workspace as it was at the fork). Null or absent for a workspace made by create.
     */
    forked_from: z
      .object({ workspace_id: z.string(), snapshot_name: z.string().nullable() })
      .nullable()
      .optional(),
    /**
     * /workspace lives on its own volume (qemu: docs/qemu-backend.md, "Workspace volumes"):
     * snapshots and resets are copy-on-write points of it. Absent: a directory of the root
     * disk, snapshots are tar archives (records from before volumes, the host backend).
     */
    workspace_volume: z.boolean().optional(),
  }),
);
export type WorkspaceRecord = z.infer<ReturnType<typeof WorkspaceRecordSchema>>;

/** A guest port published on the host's loopback (network_policy egress+published-ports). */
const PublishedPortSchema = lazy(() =>
  z.object({
    guest_port: z.number().int(),
    host_port: z.number().int(),
    host: z.literal("127.0.0.1"),
  }),
);
export type PublishedPort = z.infer<ReturnType<typeof PublishedPortSchema>>;

/** A named service as every front end reports it (src/core/services.ts keeps one per service). */
export const ServiceSchema = lazy(() =>
  z.object({
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
    exit_signal: z.string().nullable(),
    stop_reason: z.string().nullable(),
    failure_reason: z.string().nullable(),
    execution_mode: z.string(),
    /** Open while the service runs (service_stop, reset, stop and delete close them). */
    published_ports: z.array(PublishedPortSchema()).optional(),
  }),
);

export type Service = z.infer<ReturnType<typeof ServiceSchema>>;

/** The host's mirror of a service: what it reports, plus what the host needs to clean up. */
export const ServiceMirrorSchema = checkedSchema("record:ServiceMirror", () =>
  ServiceSchema().extend({
    schema_version: z.literal(SCHEMA_VERSION),
    /** Identifies `pid` on the host backend, so a recycled pid is never killed. */
    pid_start_ticks: z.number().nullable(),
    /** PYRO_OWNER token the service's processes carry; finds daemons that left its session. */
    owner_token: z.string().nullable(),
    /** The agent's change counter: an older snapshot never overwrites a newer one. */
    revision: z.number().int(),
    updated_at: z.number(),
  }),
);
export type ServiceMirror = z.infer<ReturnType<typeof ServiceMirrorSchema>>;

export const SnapshotMetaSchema = checkedSchema("record:SnapshotMeta", () =>
  z.object({
    schema_version: z.literal(SCHEMA_VERSION),
    snapshot_name: z.string(),
    created_at: z.number(),
    size_bytes: z.number().int(),
    entry_count: z.number().int().nullable(),
    /** `volume`: a point of the workspace volume (its layer id in `layer`); absent: a tar. */
    kind: z.enum(["tar", "volume"]).optional(),
    layer: z.string().optional(),
  }),
);
export type SnapshotMeta = z.infer<ReturnType<typeof SnapshotMetaSchema>>;

/** Thrown when a record exists but is unreadable or does not match its schema. */
export class CorruptRecordError extends PyroError {
  constructor(file: string, reason: string) {
    super("internal", `record ${file} is corrupt: ${reason}`, { file });
    this.name = "CorruptRecordError";
  }
}

/**
 * Reads and validates a JSON record; null when the file does not exist. The schema is built
 * only when the record's generated JSON schema (if it has one) does not accept it.
 */
export async function readRecord<T>(file: string, schema: LazySchema<T>): Promise<T | null> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CorruptRecordError(file, "not valid JSON");
  }
  const parsed = safeParse(schema, raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptRecordError(
      file,
      issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "schema mismatch",
    );
  }
  return parsed.data;
}

export function writeRecord(file: string, record: unknown): Promise<void> {
  return writeJsonAtomic(file, record);
}
