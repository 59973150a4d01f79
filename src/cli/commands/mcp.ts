import type { Command } from "commander";

import { makeManager, withExample } from "../output.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `pyro mcp serve`: the MCP server. The MCP SDK is imported only here, on demand. */
export function registerMcpCommands(program: Command): void {
  const mcp = program.command("mcp").description("Model Context Protocol server.");
  const serve = mcp
    .command("serve")
    .description(
      "Serve pyro operations as MCP tools, over stdio (default) or Streamable HTTP at /mcp. --profile picks the tools: workspace-core (default: the workspace loop, narrowed schemas), workspace-full (every operation) or vm-run (vm_run only).",
    )
    .option(
      "--profile <name>",
      "tools to offer: workspace-core (default), workspace-full or vm-run (docs/mcp.md, Profiles)",
    )
    .option(
      "--http <[host:]port>",
      "serve Streamable HTTP instead of stdio (host defaults to 127.0.0.1; port 0 picks a free one); clients need the bearer token printed at start",
    )
    .option(
      "--allow-path <dir>",
      "a host directory clients may read from and export to (repeatable; default $PYRO_ALLOWED_PATHS, else the working directory; a client's MCP roots take precedence)",
      collect,
    )
    .option(
      "--token-file <file>",
      "HTTP: read the bearer token from this file (0600, yours) instead of $PYRO_MCP_TOKEN or the generated one",
    )
    .option(
      "--allow-origin <origin>",
      "HTTP: a browser Origin allowed besides loopback ones, e.g. https://app.example (repeatable)",
      collect,
    );
  withExample(
    serve,
    "claude mcp add pyro -- pyro mcp serve --allow-path ~/src/project",
    "pyro mcp serve --http 127.0.0.1:8765",
    "pyro mcp serve --profile workspace-full",
  );
  withExample(mcp, "pyro mcp serve");
  serve.action(
    async (options: {
      http?: string;
      allowPath?: string[];
      tokenFile?: string;
      allowOrigin?: string[];
      profile?: string;
    }) => {
      const [
        { parseEndpoint, serveHttp, serveStdio },
        { configuredRoots, resolveConfiguredRoots },
        { checkProfile },
      ] = await Promise.all([
        import("../../mcp/serve.js"),
        import("../../mcp/roots.js"),
        import("../../mcp/profiles.js"),
      ]);
      const profile = checkProfile(options.profile);
      const configured = configuredRoots(options.allowPath);
      const roots = configured ? await resolveConfiguredRoots(configured) : undefined;
      const endpoint = options.http === undefined ? undefined : parseEndpoint(options.http);
      const manager = await makeManager();
      try {
        if (endpoint === undefined) await serveStdio(manager, { roots, profile });
        else {
          await serveHttp(manager, endpoint, {
            roots,
            profile,
            tokenFile: options.tokenFile,
            allowedOrigins: options.allowOrigin,
          });
        }
      } finally {
        manager.close();
      }
    },
  );
}
