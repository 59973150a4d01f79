import type { HandlerTable } from "./handler-table.js";
import type { WorkspacePaths } from "../shared/guest-paths.js";

/** Everything an agent feature module needs; features register handlers and cleanups here. */
export interface AgentContext {
  paths: WorkspacePaths;
  /** A private directory outside /workspace for temporary files and agent state. */
  stateDir: string;
  /**
   * Where uploads are staged (transfer.ts): the state dir on the host backend, a directory
   * on the guest's disk in a real guest (its state dir is a tmpfs).
   */
  scratchDir: string;
  handlers: HandlerTable;
  /** Run (in registration order) before the agent exits: stop shells, services, ... */
  cleanups: Array<() => Promise<void>>;
  /**
   * True in a real guest (the agent serves a virtio port): the guest belongs to the host,
   * so an archive the host says it validated, restored into a fresh /workspace, need not be
   * validated twice. The host backend's agent writes to the host's own filesystem and
   * always validates.
   */
  trustsHostValidation: boolean;
}
