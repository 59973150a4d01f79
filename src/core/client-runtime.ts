/**
 * The Manager behind an SDK client, built on first use from the options it was created with
 * (src/core/client-registry.ts). The `pyro-mcp/mcp` entry serves the same state through it.
 */
import { PyroError } from "../errors.js";
import { clientEntry } from "./client-registry.js";
import { Manager } from "./manager.js";

/** The Manager a Pyro client drives. */
export function runtimeOf(client: object): Manager {
  const entry = clientEntry(client);
  if (!entry) throw new PyroError("invalid_argument", "expected a Pyro client (new Pyro())");
  entry.manager ??= new Manager(entry.options);
  return entry.manager;
}
