import path from "node:path";

import { packageFile } from "../package-root.js";

/**
 * Finds the bundled agent (dist/agent/pyro-agent.mjs). `$PYRO_AGENT_PATH` overrides it,
 * which is also how tests inject an agent that fails to start.
 */
export function resolveAgentBundle(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PYRO_AGENT_PATH) return path.resolve(env.PYRO_AGENT_PATH);
  return packageFile(path.join("dist", "agent", "pyro-agent.mjs"));
}
