/**
 * pyro's library entry point. Everything public is listed here by name (and pinned by
 * test/sdk.test.ts): the SDK client and its handles, their option and data types (plain
 * interfaces generated from the catalogue), the typed errors and the operation list. Nothing
 * here names a Node or DOM type, so a consumer compiles against it with `lib: ["ES2022"]` and
 * no `types` (test/sdk-consumer.test.ts); the runtime underneath is `pyro-mcp/runtime`.
 */
export {
  Pyro,
  operations,
  type PyroOptions,
  type OperationName,
  type PyroInput,
  type PyroResult,
} from "./sdk/pyro.js";
export type { AbortSignalLike, CallOptions, Progress } from "./sdk/options.js";
export type {
  CreateWorkspaceInput,
  ExecOptions,
  ForkOptions,
  LongCallOptions,
  SnapshotInfo,
  Workspace,
  WorkspaceFiles,
  WorkspaceInfo,
  WorkspaceListEntry,
  Workspaces,
  WorkspaceServices,
  WorkspaceShells,
} from "./sdk/workspace.js";
export type { Shell, ShellInfo, ShellOpenOptions, ShellReadOptions } from "./sdk/shell.js";
export type { Readiness, Service, ServiceInfo, ServiceStartOptions } from "./sdk/service.js";
export type * from "./sdk/types.generated.js";
export {
  PyroError,
  ValidationError,
  NotFoundError,
  StateError,
  UnsafeArchiveError,
  type ErrorCode,
} from "./errors.js";
export { PACKAGE_VERSION as version } from "./version.js";
