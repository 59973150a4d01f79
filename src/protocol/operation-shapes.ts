/**
 * The building blocks of the agent operations' schemas (operations.ts): field types and the
 * shapes several operations share (a shell, a service, a command, an export). Each is built
 * on first use (src/shared/lazy.ts): importing the protocol builds nothing, so a CLI call
 * that checks the agent's answers by their generated JSON schemas never loads zod.
 */
import * as z from "zod/mini";

import { lazy } from "../shared/lazy.js";

export const str = lazy(() => z.string());
export const num = lazy(() => z.number());
export const int = lazy(() => z.number().check(z.int()));
export const bool = lazy(() => z.boolean());
/** z.optional, looked up when called (zod itself may not be loaded yet). */
export const optional: typeof z.optional = (inner) => z.optional(inner);
export const nullable: typeof z.nullable = (inner) => z.nullable(inner);

export const empty = lazy(() => z.looseObject({}));

export const ExecResult = lazy(() => ({
  exit_code: int(),
  stdout: str(),
  stderr: str(),
  duration_ms: num(),
  timed_out: bool(),
  stdout_truncated: bool(),
  stderr_truncated: bool(),
}));

export const Shell = lazy(() => ({
  shell_id: str(),
  state: z.enum(["running", "exited"]),
  cwd: str(),
  cols: int(),
  rows: int(),
  pid: int(),
  started_at: num(),
  ended_at: nullable(num()),
  exit_code: nullable(int()),
}));

export const ServiceName = lazy(() => ({ service_name: str() }));

export const Service = lazy(() =>
  z.looseObject({
    service_name: str(),
    state: z.enum(["starting", "running", "exited", "stopped", "failed"]),
    command: str(),
    cwd: str(),
    readiness: nullable(z.record(z.string(), z.unknown())),
    pid: int(),
    pid_start_ticks: nullable(num()),
    owner_token: nullable(str()),
    started_at: num(),
    ready_at: nullable(num()),
    ended_at: nullable(num()),
    exit_code: nullable(int()),
    exit_signal: nullable(str()),
    stop_reason: nullable(str()),
    failure_reason: nullable(str()),
    revision: int(),
  }),
);

/** A command the agent runs and keeps (src/agent/command-table.ts). */
export const Command = lazy(() => ({
  command_id: str(),
  command: str(),
  cwd: str(),
  state: z.enum(["running", "exited"]),
  pid: int(),
  started_at: num(),
  ended_at: nullable(num()),
  exit_code: nullable(int()),
  cancelled: bool(),
  timed_out: bool(),
  background: bool(),
  claim: z.enum(["none", "claimed", "logged"]),
  sequence: nullable(int()),
}));

/** A command with its output: the result once exited, the output so far while running. */
export const CommandOutput = lazy(() => ({
  ...Command(),
  stdout: str(),
  stderr: str(),
  duration_ms: num(),
  stdout_truncated: bool(),
  stderr_truncated: bool(),
}));

export const CommandId = lazy(() => ({ command_id: str() }));

/** What an export answers, over the port or through the transfer disk. */
export const ArchiveExported = lazy(() => ({
  path: str(),
  artifact_type: z.enum(["file", "directory", "symlink"]),
  entry_count: int(),
  size_bytes: num(),
}));

/**
 * What tree.manifest answers. A request's `since` names the manifest the host holds; when
 * the agent holds it too, only changed lines were sent and `delta` is true
 * (src/diff/manifest-delta.ts). Agents before deltas ignore `since` and answer neither field.
 */
export const ManifestSent = lazy(() => ({
  path: str(),
  entry_count: int(),
  generation: optional(str()),
  delta: optional(bool()),
}));

/** One entry of a file listing (file.list). */
export const FileEntry = lazy(() => ({
  path: str(),
  type: z.enum(["file", "directory", "symlink", "other"]),
  size: num(),
  mode: str(),
  mtime: num(),
  link_target: optional(str()),
}));
