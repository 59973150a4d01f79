/**
 * pyro's library entry point. Everything public is listed here by name (and pinned by
 * test/sdk.test.ts): the SDK client, its option and data types, the typed errors, the
 * operation catalogue and the runtime underneath.
 */
export {
  Pyro,
  type PyroOptions,
  type CallOptions,
  type PyroMethods,
  type PyroInput,
  type PyroResult,
} from "./sdk/pyro.js";
export {
  PyroError,
  ValidationError,
  NotFoundError,
  StateError,
  UnsafeArchiveError,
  type ErrorCode,
} from "./errors.js";
export { operations, type AnyOperation, type Progress } from "./operations/index.js";
export { Manager, type ManagerOptions } from "./core/manager.js";
export type { CreateVmInput } from "./core/vms.js";
export type { CreateWorkspaceInput } from "./core/workspace-create.js";
export type { ExecWorkspaceInput } from "./core/commands.js";
export type { CommandInfo, ReadCommandInput } from "./core/command-ops.js";
export type {
  OpenShellInput,
  ReadShellInput,
  SignalShellInput,
  WriteShellInput,
} from "./core/shells.js";
export type { LogsServiceInput, StartServiceInput } from "./core/services.js";
export type { VmPayload, WorkspacePayload } from "./core/payloads.js";
// Types the Manager's and the catalogue's declarations name, so a consumer can name them too.
export type { ShellPayload, ShellReadPayload } from "./core/shells.js";
export type { SnapshotInfo } from "./core/snapshots.js";
export type { DiffEntry, DiffSummary } from "./diff/diff.js";
export type { KvmReport } from "./backends/qemu/detect.js";
export type { PullResult } from "./environments/pull.js";
export type { Operation } from "./operations/define.js";
export { PACKAGE_VERSION as version } from "./version.js";
