import type { AgentContext } from "./context.js";
import { registerFileHandlers } from "./files.js";
import { ServiceRegistry } from "./services.js";
import { ShellRegistry } from "./shells.js";

/**
 * Optional agent features register their handlers (and shutdown cleanups) here. Kept
 * apart from main.ts so each feature lives in its own module.
 *
 * Services register first so their cleanup runs first: on shutdown, services get their
 * SIGTERM before shells are hung up (cleanups run in registration order).
 */
export function registerFeatures(context: AgentContext): void {
  new ServiceRegistry(context).register();
  new ShellRegistry(context).register();
  registerFileHandlers(context);
}
