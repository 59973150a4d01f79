/**
 * The `pyro-mcp/mcp` entry: the MCP server for an SDK client's runtime. It is a separate
 * entry so that `import { Pyro } from "pyro-mcp"` loads no MCP code, and a consumer's
 * compiler never reads the MCP SDK's declarations (which need the DOM library) unless it
 * imports this one.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";

import type { Manager } from "../core/manager.js";
import { checkProfile, type ProfileName } from "./profiles.js";
import { createMcpServer } from "./server.js";

/**
 * The operations of a tool profile (default `workspace-core`; `workspace-full` for every
 * operation, `vm-run` for vm_run alone) as tools on `client`'s runtime (a `Pyro`), to connect
 * to a transport of your choice. Its clients may only name host paths (seed_path,
 * source_path, output_path) under their MCP roots, else under `allowedPaths`, else under the
 * working directory.
 */
export function createServer(
  client: { readonly manager: Manager },
  options: { allowedPaths?: string[]; profile?: ProfileName } = {},
): McpServer {
  const { allowedPaths } = options;
  return createMcpServer(client.manager, {
    profile: checkProfile(options.profile),
    roots: allowedPaths
      ? { paths: allowedPaths, source: "createServer({ allowedPaths })" }
      : undefined,
  });
}
