/** pyro's library entry point: the runtime (Manager), its errors and the operation catalogue. */
export { Manager, type ManagerOptions } from "./core/manager.js";
export type { CreateVmInput } from "./core/vms.js";
export type { CreateWorkspaceInput } from "./core/workspace-create.js";
export type { ExecWorkspaceInput } from "./core/workspace-ops.js";
export type {
  OpenShellInput,
  ReadShellInput,
  SignalShellInput,
  WriteShellInput,
} from "./core/shells.js";
export type { LogsServiceInput, StartServiceInput } from "./core/services.js";
export type { VmPayload, WorkspacePayload } from "./core/payloads.js";
export {
  PyroError,
  ValidationError,
  NotFoundError,
  StateError,
  UnsafeArchiveError,
  type ErrorCode,
} from "./errors.js";
export {
  operations,
  findOperation,
  invokeOperation,
  type AnyOperation,
} from "./operations/index.js";
