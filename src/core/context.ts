import type { Backend } from "../backends/index.js";
import type { StateLayout } from "../store/layout.js";
import type { AgentPool } from "./agent-pool.js";

/** What every manager feature shares: where state lives, how sandboxes boot, connections. */
export interface ManagerContext {
  layout: StateLayout;
  backend: Backend;
  pool: AgentPool;
  maxActiveVms: number;
}

export function nowSeconds(): number {
  return Date.now() / 1000;
}
