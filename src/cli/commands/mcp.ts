import type { Command } from "commander";

import { makeManager, withExample } from "../output.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `pyro mcp serve`: the MCP server. The MCP SDK is imported only here, on demand. */
export function registerMcpCommands(program: Command): void {
  const mcp = program.command("mcp").description("Model Context Protocol server.");
  const serve = mcp
    .command("serve")
    .description(
      "Serve every pyro operation as an MCP tool, over stdio (default) or Streamable HTTP at /mcp.",
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
  );
  withExample(mcp, "pyro mcp serve");
  serve.action(
    async (options: {
      http?: string;
      allowPath?: string[];
      tokenFile?: string;
      allowOrigin?: string[];
    }) => {
      const [
        { parseEndpoint, serveHttp, serveStdio },
        { configuredRoots, resolveConfiguredRoots },
      ] = await Promise.all([import("../../mcp/serve.js"), import("../../mcp/roots.js")]);
      const configured = configuredRoots(options.allowPath);
      const roots = configured ? await resolveConfiguredRoots(configured) : undefined;
      const endpoint = options.http === undefined ? undefined : parseEndpoint(options.http);
      const manager = await makeManager();
      try {
        if (endpoint === undefined) await serveStdio(manager, { roots });
        else {
          await serveHttp(manager, endpoint, {
            roots,
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
