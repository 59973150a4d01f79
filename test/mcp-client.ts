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

/** Spawns `pyro mcp serve` over stdio and connects the MCP SDK's client to it. */
export async function connectStdio(
  stateDir: string,
): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cliPath, "mcp", "serve"],
    env: pyroEnv(stateDir),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: "pyro-test", version: "0.0.0" });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

/** Spawns `pyro mcp serve --http 127.0.0.1:0`, waits for its URL and connects over HTTP. */
export async function connectHttp(
  stateDir: string,
): Promise<{ client: Client; server: ChildProcess; url: URL }> {
  const server = spawn(process.execPath, [cliPath, "mcp", "serve", "--http", "127.0.0.1:0"], {
    env: pyroEnv(stateDir),
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise<URL>((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(
      () => reject(new Error(`no URL from pyro mcp serve: ${stderr}`)),
      10_000,
    );
    server.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /serving on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(new URL(match[1]));
      }
    });
    server.once("exit", (code) => reject(new Error(`pyro mcp serve exited ${code}: ${stderr}`)));
  });
  const client = new Client({ name: "pyro-test", version: "0.0.0" });
  await client.connect(new StreamableHTTPClientTransport(url));
  return { client, server, url };
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
