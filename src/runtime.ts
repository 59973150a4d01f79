/**
 * The `pyro-mcp/runtime` entry: the Manager the SDK's methods call (positional ids, the
 * catalogue's handlers underneath) and the full operation catalogue with its zod schemas.
 * Its declarations name Node's types, so a consumer needs `@types/node`; the `pyro-mcp`
 * entry does not.
 */
export { Manager, type ManagerOptions } from "./core/manager.js";
export {
  operations,
  type AnyOperation,
  type CatalogueOperation,
  type Progress,
} from "./operations/index.js";
export type { Operation } from "./operations/define.js";
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
export type { ShellPayload, ShellReadPayload } from "./core/shells.js";
export type { SnapshotInfo } from "./core/snapshots.js";
export type { DiffEntry, DiffSummary } from "./diff/diff.js";
export type { KvmReport } from "./backends/qemu/detect.js";
export type { PullResult } from "./environments/pull.js";
