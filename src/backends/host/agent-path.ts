import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { PyroError } from "../../errors.js";

/**
 * Finds the bundled agent (dist/agent/pyro-agent.mjs). `$PYRO_AGENT_PATH` overrides it,
 * which is also how tests inject an agent that fails to start.
 */
export function resolveAgentBundle(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PYRO_AGENT_PATH) return path.resolve(env.PYRO_AGENT_PATH);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) {
      const candidate = path.join(dir, "dist", "agent", "pyro-agent.mjs");
      if (fs.existsSync(candidate)) return candidate;
      throw new PyroError(
        "backend_error",
        `guest agent bundle not found at ${candidate}; run \`npm run build\``,
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new PyroError(
        "backend_error",
        "cannot locate the pyro package root to find the guest agent",
      );
    dir = parent;
  }
}
