/**
 * `pyro mcp serve`: the MCP server over stdio (the default, what MCP clients spawn) or over
 * Streamable HTTP. stdout belongs to the protocol in stdio mode, so everything else goes to
 * stderr.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

import type { Manager } from "../core/manager.js";
import { ValidationError } from "../errors.js";
import { createMcpServer } from "./server.js";

export async function serveStdio(manager: Manager): Promise<void> {
  const server = createMcpServer(manager);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  await server.connect(new StdioServerTransport());
  process.stderr.write("pyro mcp: serving on stdio\n");
  await closed;
}

export interface HttpEndpoint {
  host: string;
  port: number;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

/** `PORT`, `HOST:PORT` or `[V6]:PORT`; a bare port binds to 127.0.0.1. */
export function parseEndpoint(raw: string): HttpEndpoint {
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(raw.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new ValidationError(
      `--http must be PORT or HOST:PORT (e.g. 127.0.0.1:8765), got '${raw}'`,
      {
        field: "http",
      },
    );
  }
  const host = (match[1] ?? "127.0.0.1").replace(/^\[(.*)\]$/, "$1");
  return { host, port };
}

/**
 * Streamable HTTP at `/mcp`, stateless: each POST gets its own server and transport on the
 * shared manager (all state lives on disk anyway). The SDK's express app adds DNS-rebinding
 * protection when bound to loopback.
 */
export async function serveHttp(manager: Manager, endpoint: HttpEndpoint): Promise<void> {
  const [{ createMcpExpressApp }, { StreamableHTTPServerTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/express.js"),
    import("@modelcontextprotocol/sdk/server/streamableHttp.js"),
  ]);
  if (!LOOPBACK.has(endpoint.host)) {
    process.stderr.write(
      `pyro mcp: WARNING: listening on ${endpoint.host}, not loopback: anyone who can reach it can run commands in your sandboxes\n`,
    );
  }
  const app = createMcpExpressApp({ host: endpoint.host });
  app.post("/mcp", async (req: { body: unknown }, res: NodeResponse) => {
    const server = createMcpServer(manager);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req as never, res as never, req.body);
  });
  const refuse = (_req: unknown, res: NodeResponse) =>
    res.status(405).json({
      jsonrpc: "2.0",
      error: { code: -32000, message: "Method not allowed: this server is stateless, POST /mcp" },
      id: null,
    });
  app.get("/mcp", refuse);
  app.delete("/mcp", refuse);
  const listener: Server = await new Promise((resolve, reject) => {
    const server: Server = app.listen(endpoint.port, endpoint.host, () => resolve(server));
    server.once("error", reject);
  });
  const address = listener.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  process.stderr.write(`pyro mcp: serving on http://${host}:${address.port}/mcp\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      listener.close(() => resolve());
      listener.closeAllConnections(); // idle keep-alive connections would hold close() open
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

interface NodeResponse {
  on(event: "close", listener: () => void): void;
  status(code: number): { json(body: unknown): void };
}
