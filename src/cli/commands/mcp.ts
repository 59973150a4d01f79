import type { Command } from "commander";

import { makeManager, withExample } from "../output.js";

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
      "serve Streamable HTTP instead of stdio (host defaults to 127.0.0.1; port 0 picks a free one)",
    );
  withExample(
    serve,
    "claude mcp add pyro -- pyro mcp serve",
    "pyro mcp serve --http 127.0.0.1:8765",
  );
  withExample(mcp, "pyro mcp serve");
  serve.action(async (options: { http?: string }) => {
    const { parseEndpoint, serveHttp, serveStdio } = await import("../../mcp/serve.js");
    const manager = await makeManager();
    try {
      if (options.http === undefined) await serveStdio(manager);
      else await serveHttp(manager, parseEndpoint(options.http));
    } finally {
      manager.close();
    }
  });
}
