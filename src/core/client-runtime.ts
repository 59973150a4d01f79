/**
 * The runtime behind each SDK client (`Pyro`), kept off the class's public surface: a
 * `Manager` in its declaration would drag Node's types into every consumer's compile. The
 * `pyro-mcp/mcp` entry reaches it through runtimeOf to serve the same state.
 */
import type { Manager } from "./manager.js";
import { PyroError } from "../errors.js";

const runtimes = new WeakMap<object, Manager>();

export function attachRuntime(client: object, manager: Manager): void {
  runtimes.set(client, manager);
}

/** The Manager a Pyro client drives. */
export function runtimeOf(client: object): Manager {
  const manager = runtimes.get(client);
  if (!manager) throw new PyroError("invalid_argument", "expected a Pyro client (new Pyro())");
  return manager;
}
