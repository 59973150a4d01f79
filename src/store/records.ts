import fs from "node:fs/promises";

import { z } from "zod";

import { PyroError } from "../errors.js";
import { writeJsonAtomic } from "./atomic.js";

export const SCHEMA_VERSION = 1;

const RuntimeSchema = z.object({
  pid: z.number().int(),
  /** /proc start time of `pid`, so a recycled pid is never mistaken for our agent. */
  pid_start_ticks: z.number().nullable(),
  socket_path: z.string(),
  started_at: z.number(),
  agent_version: z.string(),
  /** Guest backends: the VMM the supervisor (`pid`) runs, checked on its own. */
  vmm_pid: z.number().int().nullable().optional(),
  vmm_pid_start_ticks: z.number().nullable().optional(),
});
export type RuntimeRecord = z.infer<typeof RuntimeSchema>;

const SandboxFields = {
  schema_version: z.literal(SCHEMA_VERSION),
  environment: z.string(),
  backend: z.string(),
  vcpu_count: z.number().int(),
  mem_mib: z.number().int(),
  ttl_seconds: z.number().int(),
  network_requested: z.boolean(),
  allow_host_compat: z.boolean(),
  created_at: z.number(),
  expires_at: z.number(),
  execution_mode: z.string(),
  runtime: RuntimeSchema.nullable(),
  last_error: z.string().nullable(),
};

export const VmRecordSchema = z.object({
  kind: z.literal("vm"),
  vm_id: z.string(),
  state: z.enum(["created", "started", "stopped"]),
  ...SandboxFields,
});
export type VmRecord = z.infer<typeof VmRecordSchema>;

export const WorkspaceSeedSchema = z.object({
  mode: z.enum(["empty", "directory", "tar_archive"]),
  seed_path: z.string().nullable(),
  entry_count: z.number().int().optional(),
  bytes_written: z.number().int().optional(),
});
export type WorkspaceSeed = z.infer<typeof WorkspaceSeedSchema>;

export const LastCommandSchema = z.object({
  sequence: z.number().int(),
  command: z.string(),
  cwd: z.string(),
  exit_code: z.number().int(),
  duration_ms: z.number(),
  finished_at: z.number(),
});

export const WorkspaceRecordSchema = z.object({
  kind: z.literal("workspace"),
  workspace_id: z.string(),
  /** `resetting`: a reset holds the workspace's lock and is replacing its sandbox. */
  state: z.enum(["started", "stopped", "resetting"]),
  ...SandboxFields,
  workspace_seed: WorkspaceSeedSchema,
  command_count: z.number().int(),
  last_command: LastCommandSchema.nullable(),
  reset_count: z.number().int(),
  workspace_reset: z.object({ snapshot_name: z.string(), reset_at: z.number() }).nullable(),
});
export type WorkspaceRecord = z.infer<typeof WorkspaceRecordSchema>;

export const CommandLogEntrySchema = z.object({
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
});
export type CommandLogEntry = z.infer<typeof CommandLogEntrySchema>;

export const SnapshotMetaSchema = z.object({
  schema_version: z.literal(SCHEMA_VERSION),
  snapshot_name: z.string(),
  created_at: z.number(),
  size_bytes: z.number().int(),
  entry_count: z.number().int(),
});
export type SnapshotMeta = z.infer<typeof SnapshotMetaSchema>;

/** Thrown when a record exists but is unreadable or does not match its schema. */
export class CorruptRecordError extends PyroError {
  constructor(file: string, reason: string) {
    super("internal", `record ${file} is corrupt: ${reason}`, { file });
    this.name = "CorruptRecordError";
  }
}

/** Reads and validates a JSON record; null when the file does not exist. */
export async function readRecord<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
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
  const parsed = schema.safeParse(raw);
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
