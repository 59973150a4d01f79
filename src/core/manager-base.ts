import { BackendRegistry, backendSelection } from "../backends/index.js";
import { StateLayout, defaultEnvironmentCacheDir, defaultStateDir } from "../store/layout.js";
import type { WorkspaceRecord } from "../store/records.js";
import { AgentPool } from "./agent-pool.js";
import { collectFinished } from "./command-logging.js";
import type { ManagerContext } from "./context.js";
import { LIMITS } from "../shared/limits.js";
import { workspacePayload, type ServiceCounts } from "./payloads.js";
import { guestSuspended } from "./sandbox.js";
import { serviceCounts, teardownServices } from "./services.js";
import { expiryPayload } from "./workspace-expiry.js";
import { refreshWorkspace } from "./workspace-ops.js";

export interface ManagerOptions {
  /** State directory; default `$PYRO_STATE_DIR` or `$XDG_STATE_HOME/pyro-mcp`. */
  baseDir?: string;
  /** `host` (alias `mock`), `qemu` or `firecracker`; default `$PYRO_BACKEND`, else the best available. */
  backend?: string;
  maxActiveVms?: number;
  /** Guest environment cache; default `$PYRO_ENVIRONMENT_CACHE_DIR` or `~/.cache/pyro-mcp/environments`. */
  environmentCacheDir?: string;
}

/**
 * What every Manager method shares: the context built from the options, and the steps
 * several of them take (a workspace's status view, logging finished background commands).
 * Manager (manager.ts) is the facade with one method per operation.
 */
export class ManagerBase {
  readonly context: ManagerContext;
  readonly environmentCacheDir: string;

  constructor(options: ManagerOptions = {}) {
    this.environmentCacheDir = options.environmentCacheDir ?? defaultEnvironmentCacheDir();
    this.context = {
      layout: new StateLayout(options.baseDir ?? defaultStateDir()),
      backends: new BackendRegistry(backendSelection(options.backend), this.environmentCacheDir),
      pool: new AgentPool(),
      maxActiveVms: options.maxActiveVms ?? LIMITS.maxActiveVms,
      beforeDestroy: (record) => teardownServices(this.context, record),
    };
  }

  /** `qemu`, `firecracker`, `host`, or `auto` (the strongest that can boot, per sandbox). */
  get backendName(): string {
    return this.context.backends.selection;
  }

  get baseDir(): string {
    return this.context.layout.baseDir;
  }

  /** Drops cached agent connections. Sandboxes keep running. */
  close(): void {
    this.context.pool.closeAll();
  }

  /** A workspace as status and the lifecycle calls show it. */
  protected async workspaceView(record: WorkspaceRecord) {
    const counts = await this.serviceCounts(record);
    return workspacePayload(record, counts, expiryPayload(this.context.layout, record));
  }

  /**
   * The view of a workspace whose sandbox this call has just booted (create, reset, fork):
   * it runs no service yet, so the counts are known without asking its agent. That request
   * was the first of a new connection to a guest that had just been restored, and it cost
   * 150-200 ms under TCG, a seventh of a reset.
   */
  protected bootedWorkspaceView(record: WorkspaceRecord) {
    const none: ServiceCounts = { service_count: 0, running_service_count: 0 };
    return workspacePayload(record, none, expiryPayload(this.context.layout, record));
  }

  /** The workspace's record after a refresh; null when that fails (the call says why). */
  protected recordOrNull(workspaceId: string): Promise<WorkspaceRecord | null> {
    return refreshWorkspace(this.context, workspaceId).catch(() => null);
  }

  /** Logs finished background commands; true when it logged any. Never fails the caller. */
  protected async collectFinished(record: WorkspaceRecord | null): Promise<boolean> {
    if (!record) return false;
    // A suspended guest is not resumed for a status: a command that finished before it was
    // saved is logged by the next call that reaches the agent.
    if (guestSuspended(this.context, record)) return false;
    // An unreachable agent is not this call's failure: status reports the sandbox's state.
    return collectFinished(this.context, record).catch(() => false);
  }

  /** service_count / running_service_count for workspace status (from the agent when it runs). */
  protected async serviceCounts(record: WorkspaceRecord): Promise<ServiceCounts> {
    return serviceCounts(this.context, record);
  }
}
