/**
 * The handle API: `pyro.workspaces.create()` returns a Workspace whose methods call the flat,
 * catalogue-bound methods of the same client (one code path: same validation, messages and
 * errors). A handle always names its workspace by id, and keeps the record of the last call
 * that returned one (`info`), with Date accessors for its timestamps.
 */
import type { AbortSignalLike, CallOptions } from "./options.js";
import { Service, type ServiceInfo, type ServiceStartOptions } from "./service.js";
import { Shell, ignoreGone, type ShellOpenOptions } from "./shell.js";
import { toDate, toDateOrNull } from "./time.js";
import type {
  EnvironmentName,
  PyroMethods,
  SnapshotCreateResult,
  WorkspaceCreateInput,
  WorkspaceDiffResult,
  WorkspaceExecResult,
  WorkspaceExportResult,
  WorkspaceFileListResult,
  WorkspaceFileReadResult,
  WorkspaceFileWriteResult,
  WorkspaceForkInput,
  WorkspaceListInput,
  WorkspaceListResult,
  WorkspaceStatusResult,
} from "./types.generated.js";

/** A workspace's record (workspace_status); timestamps are Unix seconds, see the Date getters. */
export type WorkspaceInfo = WorkspaceStatusResult;
/** One row of `pyro.workspaces.list()`. */
export type WorkspaceListEntry = WorkspaceListResult["workspaces"][number];
/** A snapshot as snapshot_create and snapshot_list describe it. */
export type SnapshotInfo = SnapshotCreateResult["snapshot"];

/** workspace_create's input, with the environment narrowed to the names pyro knows. */
export type CreateWorkspaceInput = Omit<WorkspaceCreateInput, "environment"> & {
  environment?: EnvironmentName;
};

/** workspace_fork's options: what to fork (default /workspace now), how many, names, labels, ttl. */
export type ForkOptions = Omit<WorkspaceForkInput, "workspace_id">;

/** Progress and cancellation of a long call (create, reset, start, stop). */
export type LongCallOptions = Pick<CallOptions, "onProgress" | "signal">;

export interface ExecOptions {
  /** The command's stdout as it arrives (the result still has all of it). */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  /** Aborting kills the command (logged with exit_code 130) and rejects with code `cancelled`. */
  signal?: AbortSignalLike;
  /** Timeout in seconds (default 30); on expiry exit_code is 124. */
  timeoutSeconds?: number;
  /** Working directory under /workspace (default /workspace). */
  cwd?: string;
  env?: Record<string, string>;
  /** Text given to the command on its stdin (at most 1 MiB). */
  stdin?: string;
  /** Return after this many seconds with state 'running' (the command goes on; see waitCommand). */
  waitSeconds?: number;
  /** Workspace secrets to put in the environment: { ENV_NAME: SECRET_NAME }. */
  secretEnv?: Record<string, string>;
}

/** `pyro.workspaces`. */
export class Workspaces {
  readonly #methods: PyroMethods;

  constructor(methods: PyroMethods) {
    this.#methods = methods;
  }

  /** Creates a workspace (workspace_create) and returns its handle. */
  async create(
    input: CreateWorkspaceInput = {},
    options: LongCallOptions = {},
  ): Promise<Workspace> {
    return new Workspace(this.#methods, await this.#methods.createWorkspace(input, options));
  }

  /** The handle of an existing workspace, by id or name (not_found when there is none). */
  async get(idOrName: string): Promise<Workspace> {
    return new Workspace(
      this.#methods,
      await this.#methods.statusWorkspace({ workspace_id: idOrName }),
    );
  }

  /** Workspaces, most recently active first, filtered by labels and state. */
  async list(filter: WorkspaceListInput = {}): Promise<WorkspaceListEntry[]> {
    return (await this.#methods.listWorkspaces(filter)).workspaces;
  }
}

/** A persistent workspace. `await using ws = await pyro.workspaces.create()` deletes it at the end of the block. */
export class Workspace {
  readonly id: string;
  /** Files under /workspace (the workspace must be started). */
  readonly files: WorkspaceFiles;
  readonly shells: WorkspaceShells;
  readonly services: WorkspaceServices;
  #info: WorkspaceInfo;
  #deleted = false;
  readonly #methods: PyroMethods;

  constructor(methods: PyroMethods, info: WorkspaceInfo) {
    this.#methods = methods;
    this.#info = info;
    this.id = info.workspace_id;
    this.files = new WorkspaceFiles(methods, this.id);
    this.shells = new WorkspaceShells(methods, this.id);
    this.services = new WorkspaceServices(methods, this.id);
  }

  /** The record as of the last call that returned one (create, get, refresh, reset, start, stop). */
  get info(): WorkspaceInfo {
    return this.#info;
  }

  get name(): string | null {
    return this.#info.name;
  }

  get createdAt(): Date {
    return toDate(this.#info.created_at);
  }

  /** When it expires unless used again (the earlier of the idle and hard expiry). */
  get expiresAt(): Date {
    return toDate(this.#info.expires_at);
  }

  get lastActivityAt(): Date {
    return toDate(this.#info.last_activity_at);
  }

  /** When workspace_stop stopped it, or null while started. */
  get stoppedAt(): Date | null {
    return toDateOrNull(this.#info.stopped_at);
  }

  /** Reads the record again (workspace_status). */
  async refresh(): Promise<WorkspaceInfo> {
    return this.#keep(await this.#methods.statusWorkspace({ workspace_id: this.id }));
  }

  /** Runs a shell command (/bin/sh -c) in /workspace or `cwd` and logs it. */
  exec(command: string, options: ExecOptions = {}): Promise<WorkspaceExecResult> {
    return this.#methods.execWorkspace(
      {
        workspace_id: this.id,
        command,
        timeout_seconds: options.timeoutSeconds,
        cwd: options.cwd,
        env: options.env,
        stdin: options.stdin,
        wait_seconds: options.waitSeconds,
        secret_env: options.secretEnv,
      },
      { onStdout: options.onStdout, onStderr: options.onStderr, signal: options.signal },
    );
  }

  /** Saves /workspace as a named snapshot that `reset(name)` restores. */
  async snapshot(name: string): Promise<SnapshotInfo> {
    const result = await this.#methods.createSnapshot({
      workspace_id: this.id,
      snapshot_name: name,
    });
    return result.snapshot;
  }

  /** The baseline and named snapshots. */
  async snapshots(): Promise<SnapshotInfo[]> {
    return (await this.#methods.listSnapshots({ workspace_id: this.id })).snapshots;
  }

  /** A fresh sandbox with /workspace restored from `snapshot` (default the baseline). */
  async reset(snapshot?: string, options: LongCallOptions = {}): Promise<WorkspaceInfo> {
    return this.#keep(
      await this.#methods.resetWorkspace({ workspace_id: this.id, snapshot }, options),
    );
  }

  /**
   * New workspaces from `snapshot` of this one (default: /workspace as it is now), each a
   * fresh sandbox with this one's baseline, as handles (workspace_fork).
   */
  async fork(options: ForkOptions = {}, call: LongCallOptions = {}): Promise<Workspace[]> {
    const result = await this.#methods.forkWorkspace({ workspace_id: this.id, ...options }, call);
    return result.workspaces.map((info) => new Workspace(this.#methods, info));
  }

  /** What changed under /workspace since the baseline. */
  diff(): Promise<WorkspaceDiffResult> {
    return this.#methods.diffWorkspace({ workspace_id: this.id });
  }

  /** Copies `path` (under /workspace) to the host path `output`, which must not exist yet. */
  export(path: string, output: string): Promise<WorkspaceExportResult> {
    return this.#methods.exportWorkspace({ workspace_id: this.id, path, output_path: output });
  }

  /** Stops the sandbox, keeping /workspace, snapshots and the log. */
  async stop(options: LongCallOptions = {}): Promise<WorkspaceInfo> {
    return this.#keep(await this.#methods.stopWorkspace({ workspace_id: this.id }, options));
  }

  /** Boots a stopped workspace again on its kept /workspace. */
  async start(options: LongCallOptions = {}): Promise<WorkspaceInfo> {
    return this.#keep(await this.#methods.startWorkspace({ workspace_id: this.id }, options));
  }

  /** Deletes the workspace with its snapshots. */
  async delete(): Promise<void> {
    await this.#methods.deleteWorkspace({ workspace_id: this.id });
    this.#deleted = true;
  }

  /** Deletes the workspace unless `delete()` already did (or it expired). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#deleted) return;
    await this.delete().catch(ignoreGone);
  }

  #keep(info: WorkspaceInfo): WorkspaceInfo {
    this.#info = info;
    return info;
  }
}

/** `workspace.files`: read, write and list files under /workspace. */
export class WorkspaceFiles {
  readonly #methods: PyroMethods;
  readonly #id: string;

  constructor(methods: PyroMethods, id: string) {
    this.#methods = methods;
    this.#id = id;
  }

  /** `content` is UTF-8 text, or base64 for a binary file (`encoding` says which). */
  read(path: string, options: { maxBytes?: number } = {}): Promise<WorkspaceFileReadResult> {
    return this.#methods.readWorkspaceFile({
      workspace_id: this.#id,
      path,
      max_bytes: options.maxBytes,
    });
  }

  /** Writes a whole file atomically (bytes are sent as base64); parents are created. */
  write(
    path: string,
    content: string | Uint8Array,
    options: { mode?: string } = {},
  ): Promise<WorkspaceFileWriteResult> {
    const binary = typeof content !== "string";
    return this.#methods.writeWorkspaceFile({
      workspace_id: this.#id,
      path,
      text: binary ? Buffer.from(content).toString("base64") : content,
      encoding: binary ? "base64" : undefined,
      mode: options.mode,
    });
  }

  /** A directory's entries (or one file's), symlinks never followed. */
  list(path?: string, options: { recursive?: boolean } = {}): Promise<WorkspaceFileListResult> {
    return this.#methods.listWorkspaceFiles({
      workspace_id: this.#id,
      path,
      recursive: options.recursive,
    });
  }
}

/** `workspace.shells`. */
export class WorkspaceShells {
  readonly #methods: PyroMethods;
  readonly #id: string;

  constructor(methods: PyroMethods, id: string) {
    this.#methods = methods;
    this.#id = id;
  }

  /** Opens a PTY shell (bash). */
  async open(options: ShellOpenOptions = {}): Promise<Shell> {
    const info = await this.#methods.openShell({
      workspace_id: this.#id,
      cwd: options.cwd,
      cols: options.cols,
      rows: options.rows,
      secret_env: options.secretEnv,
    });
    return new Shell(this.#methods, info);
  }
}

/** `workspace.services`. */
export class WorkspaceServices {
  readonly #methods: PyroMethods;
  readonly #id: string;

  constructor(methods: PyroMethods, id: string) {
    this.#methods = methods;
    this.#id = id;
  }

  /** Starts `command` as the service `name`; with readiness, resolves once it is up (or failed). */
  async start(name: string, command: string, options: ServiceStartOptions = {}): Promise<Service> {
    const info = await this.#methods.startService({
      workspace_id: this.#id,
      service_name: name,
      command,
      cwd: options.cwd,
      readiness: options.readiness,
      ready_timeout_seconds: options.readyTimeoutSeconds,
      ready_interval_ms: options.readyIntervalMs,
      env: options.env,
      secret_env: options.secretEnv,
      published_ports: options.publishedPorts,
    });
    return new Service(this.#methods, info);
  }

  /** The handle of an existing service. */
  async get(name: string): Promise<Service> {
    return new Service(
      this.#methods,
      await this.#methods.statusService({ workspace_id: this.#id, service_name: name }),
    );
  }

  async list(): Promise<ServiceInfo[]> {
    return (await this.#methods.listServices({ workspace_id: this.#id })).services;
  }
}
