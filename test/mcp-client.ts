import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

/** The built CLI: tests drive the real `pyro` process, as users and MCP clients do. */
export const cliPath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "dist",
  "cli",
  "main.js",
);

export function pyroEnv(stateDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return { ...env, PYRO_STATE_DIR: stateDir, PYRO_BACKEND: "host" };
}

export interface ServeOptions {
  /** Extra `pyro mcp serve` arguments (e.g. `--allow-path DIR`). */
  args?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  cwd?: string;
  /** The client to connect (default: a plain one, without roots). */
  client?: Client;
}

/** Spawns `pyro mcp serve` over stdio and connects the MCP SDK's client to it. */
export async function connectStdio(
  stateDir: string,
  options: ServeOptions = {},
): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cliPath, "mcp", "serve", ...(options.args ?? [])],
    env: { ...pyroEnv(stateDir), ...options.env },
    cwd: options.cwd,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const client = options.client ?? new Client({ name: "pyro-test", version: "0.0.0" });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

export interface HttpServer {
  server: ChildProcess;
  url: URL;
  /** The bearer token printed at start (or PYRO_MCP_TOKEN when given). */
  token: string;
  stderr: () => string;
}

/** Spawns `pyro mcp serve --http ADDRESS` and waits for its URL and token. */
export async function startHttp(
  stateDir: string,
  options: ServeOptions & { address?: string } = {},
): Promise<HttpServer> {
  const server = spawn(
    process.execPath,
    [cliPath, "mcp", "serve", "--http", options.address ?? "127.0.0.1:0", ...(options.args ?? [])],
    { env: { ...pyroEnv(stateDir), ...options.env }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const started = await new Promise<{ url: URL; token: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no URL from pyro mcp serve: ${stderr}`)),
      10_000,
    );
    server.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /serving on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        const printed = /; token: (\S+) /.exec(stderr)?.[1];
        resolve({ url: new URL(match[1]), token: printed ?? options.env?.PYRO_MCP_TOKEN ?? "" });
      }
    });
    server.once("exit", (code) => reject(new Error(`pyro mcp serve exited ${code}: ${stderr}`)));
  });
  return { server, ...started, stderr: () => stderr };
}

/** Stops a server started by startHttp and returns its exit status. */
export async function stopHttp(server: ChildProcess): Promise<number | null> {
  if (server.exitCode !== null || server.signalCode !== null) return server.exitCode;
  const exited = new Promise<number | null>((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  return exited;
}

/** An MCP SDK client over Streamable HTTP that sends the bearer token. */
export async function httpClient(url: URL, token: string): Promise<Client> {
  const client = new Client({ name: "pyro-test", version: "0.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** Spawns `pyro mcp serve --http 127.0.0.1:0`, waits for its URL and connects over HTTP. */
export async function connectHttp(
  stateDir: string,
  options: ServeOptions = {},
): Promise<{ client: Client; server: ChildProcess; url: URL }> {
  const { server, url, token } = await startHttp(stateDir, options);
  return { client: await httpClient(url, token), server, url };
}

/** Calls a tool and returns its result with structuredContent typed loosely for assertions. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options: { onprogress?: (progress: { message?: string; progress: number }) => void } = {},
): Promise<CallToolResult & { structuredContent?: Record<string, unknown> }> {
  return (await client.callTool(
    { name, arguments: args },
    undefined,
    options,
  )) as CallToolResult & {
    structuredContent?: Record<string, unknown>;
  };
}

export function textOf(result: CallToolResult): string {
  return result.content.map((item) => (item.type === "text" ? item.text : "")).join("\n");
}
