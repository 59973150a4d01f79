/**
 * The runtime options of each SDK client (`Pyro`), and its Manager once one exists. This file
 * imports no runtime code, so `import { Pyro } from "pyro-mcp"` stays light: the Manager (and
 * the catalogue with it) is loaded and built on the client's first call
 * (src/core/client-runtime.ts), and never appears in the class's declaration, which would
 * drag Node's types into every consumer's compile.
 */
import type { Manager, ManagerOptions } from "./manager.js";

interface ClientEntry {
  options: ManagerOptions;
  manager?: Manager;
}

const clients = new WeakMap<object, ClientEntry>();

export function registerClient(client: object, options: ManagerOptions): void {
  clients.set(client, { options });
}

/** The client's entry, or undefined for an object that is no SDK client. */
export function clientEntry(client: object): ClientEntry | undefined {
  return clients.get(client);
}
