/**
 * The building blocks of the agent operations' schemas (operations.ts): field types and the
 * shapes several operations share (a shell, a service, a command, an export).
 */
import * as z from "zod/mini";

export const str = z.string();
export const num = z.number();
export const int = z.number().check(z.int());
export const bool = z.boolean();
export const optional = z.optional;
export const nullable = z.nullable;

export const empty = z.looseObject({});

export const ExecResult = {
  exit_code: int,
  stdout: str,
  stderr: str,
  duration_ms: num,
  timed_out: bool,
  stdout_truncated: bool,
  stderr_truncated: bool,
};

export const Shell = {
  shell_id: str,
  state: z.enum(["running", "exited"]),
  cwd: str,
  cols: int,
  rows: int,
  pid: int,
  started_at: num,
  ended_at: nullable(num),
  exit_code: nullable(int),
};

export const ServiceName = { service_name: str };

export const Service = z.looseObject({
  service_name: str,
  state: z.enum(["starting", "running", "exited", "stopped", "failed"]),
  command: str,
  cwd: str,
  readiness: nullable(z.record(z.string(), z.unknown())),
  pid: int,
  pid_start_ticks: nullable(num),
  owner_token: nullable(str),
  started_at: num,
  ready_at: nullable(num),
  ended_at: nullable(num),
  exit_code: nullable(int),
  exit_signal: nullable(str),
  stop_reason: nullable(str),
  failure_reason: nullable(str),
  revision: int,
});

/** A command the agent runs and keeps (src/agent/command-table.ts). */
export const Command = {
  command_id: str,
  command: str,
  cwd: str,
  state: z.enum(["running", "exited"]),
  pid: int,
  started_at: num,
  ended_at: nullable(num),
  exit_code: nullable(int),
  cancelled: bool,
  timed_out: bool,
  background: bool,
  claim: z.enum(["none", "claimed", "logged"]),
  sequence: nullable(int),
};

/** A command with its output: the result once exited, the output so far while running. */
export const CommandOutput = {
  ...Command,
  stdout: str,
  stderr: str,
  duration_ms: num,
  stdout_truncated: bool,
  stderr_truncated: bool,
};

export const CommandId = { command_id: str };
/** What an export answers, over the port or through the transfer disk. */
export const ArchiveExported = {
  path: str,
  artifact_type: z.enum(["file", "directory", "symlink"]),
  entry_count: int,
  size_bytes: num,
};

/** One entry of a file listing (file.list). */
export const FileEntry = {
  path: str,
  type: z.enum(["file", "directory", "symlink", "other"]),
  size: num,
  mode: str,
  mtime: num,
  link_target: optional(str),
};
