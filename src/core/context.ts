import type { BackendRegistry } from "../backends/index.js";
import type { StateLayout } from "../store/layout.js";
import type { WorkspaceRecord } from "../store/records.js";
import type { AgentPool } from "./agent-pool.js";

/** What every manager feature shares: where state lives, how sandboxes boot, connections. */
export interface ManagerContext {
  layout: StateLayout;
  /** Backends by name; records name theirs, new sandboxes ask `backends.choose`. */
  backends: BackendRegistry;
  pool: AgentPool;
  maxActiveVms: number;
  /**
   * Runs before a workspace's sandbox is destroyed (delete, reset, expiry): stops its
   * services and closes its shells through the agent while it still answers.
   */
  beforeDestroy: (record: WorkspaceRecord) => Promise<void>;
}

export function nowSeconds(): number {
  return Date.now() / 1000;
}
