/**
 * `pyro mcp serve`: the MCP server over stdio (the default, what MCP clients spawn) or over
 * Streamable HTTP. stdout belongs to the protocol in stdio mode, so everything else goes to
 * stderr.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";

import type { Manager } from "../core/manager.js";
import { ValidationError } from "../errors.js";
import { bearerMatches, loadHttpToken, type HttpToken } from "./http-token.js";
import {
  INVALID_REQUEST,
  MAX_MESSAGE_BYTES,
  PARSE_ERROR,
  errorAnswer,
  gateMessage,
  type ErrorAnswer,
} from "./jsonrpc-gate.js";
import type { ProfileName } from "./profiles.js";
import type { ConfiguredRoots } from "./roots.js";
import { createMcpServer, whenIdle } from "./server.js";
import { LineStdioTransport } from "./stdio-transport.js";

export interface ServeOptions {
  /** Host path roots when the client declares none (already checked, see resolveConfiguredRoots). */
  roots?: ConfiguredRoots;
  /** The tools offered (src/mcp/profiles.ts); default workspace-core. */
  profile?: ProfileName;
}

export async function serveStdio(manager: Manager, options: ServeOptions = {}): Promise<void> {
  const server = createMcpServer(manager, options);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  await server.connect(
    new LineStdioTransport(process.stdin, process.stdout, MAX_MESSAGE_BYTES, log),
  );
  log("pyro mcp: serving on stdio");
  await closed;
  await whenIdle(server);
}

export interface HttpEndpoint {
  host: string;
  port: number;
}

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

/** A name or address that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  const v4 = bare.replace(/^::ffff:/, "");
  return net.isIPv4(v4) && v4.startsWith("127.");
}

export interface HttpServeOptions extends ServeOptions {
  /** A file holding the token (instead of PYRO_MCP_TOKEN or the generated one). */
  tokenFile?: string;
  /** Browser origins allowed besides loopback ones (exact `scheme://host[:port]`). */
  allowedOrigins?: string[];
}

/**
 * Streamable HTTP at `/mcp`, stateless: each POST gets its own server and transport on the
 * shared manager (all state lives on disk anyway). In front of the SDK's transport, in this
 * order: the Host header must name a loopback host when bound to loopback and a browser's
 * Origin must be loopback or allowed (DNS rebinding, 403), the bearer token must match (401),
 * the method must be POST (405), the body must fit MAX_MESSAGE_BYTES (413), parse (-32700)
 * and be valid JSON-RPC (-32600/-32602). Every refusal is a JSON-RPC error body.
 */
export async function serveHttp(
  manager: Manager,
  endpoint: HttpEndpoint,
  options: HttpServeOptions = {},
): Promise<void> {
  const token = await loadHttpToken({ stateDir: manager.baseDir, tokenFile: options.tokenFile });
  const loopback = isLoopback(endpoint.host);
  if (!loopback && !token.explicit) {
    throw new ValidationError(
      `--http ${endpoint.host}:${endpoint.port} binds to a non-loopback address, which other machines can reach; choose their token: set PYRO_MCP_TOKEN or pass --token-file (or bind to 127.0.0.1)`,
      { field: "http", value: endpoint.host },
    );
  }
  const { StreamableHTTPServerTransport } =
    await import("@modelcontextprotocol/sdk/server/streamableHttp.js");
  const allowedOrigins = new Set((options.allowedOrigins ?? []).map(checkOrigin));

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/mcp") {
      return answer(res, 404, errorAnswer(null, -32000, "Not found: the MCP endpoint is /mcp"));
    }
    const refusal = originRefusal(req, loopback, allowedOrigins);
    if (refusal) return answer(res, 403, errorAnswer(null, -32000, refusal));
    if (!bearerMatches(req.headers.authorization, token.token)) {
      const presented = req.headers.authorization !== undefined;
      res.setHeader(
        "WWW-Authenticate",
        `Bearer realm="pyro-mcp"${presented ? ', error="invalid_token"' : ""}`,
      );
      return answer(
        res,
        401,
        errorAnswer(
          null,
          -32000,
          `Unauthorized: send 'Authorization: Bearer <token>' with the token pyro mcp serve printed at start (PYRO_MCP_TOKEN or its token file)${presented ? "; the token given does not match" : ""}`,
        ),
      );
    }
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      return answer(
        res,
        405,
        errorAnswer(null, -32000, "Method not allowed: this server is stateless, POST /mcp"),
      );
    }
    const body = await readBody(req, MAX_MESSAGE_BYTES);
    if (body === null) {
      res.setHeader("Connection", "close");
      return answer(
        res,
        413,
        errorAnswer(
          null,
          INVALID_REQUEST,
          `Payload Too Large: a request body is limited to ${MAX_MESSAGE_BYTES} bytes (10 MiB)`,
        ),
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      return answer(
        res,
        400,
        errorAnswer(null, PARSE_ERROR, `Parse error: ${(error as Error).message}`),
      );
    }
    const rejected = gateBody(parsed);
    if (rejected) return answer(res, rejected.status, rejected.body);
    const server = createMcpServer(manager, options);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, parsed);
  };

  const listener = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`pyro mcp: request failed: ${String(error)}\n`);
      if (!res.headersSent) {
        answer(res, 500, errorAnswer(null, -32603, "Internal error"));
      } else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(endpoint.port, endpoint.host, () => resolve());
  });
  if (!loopback) {
    process.stderr.write(
      `pyro mcp: WARNING: listening on ${endpoint.host}, not loopback: anyone who can reach it and holds the token can run commands in your sandboxes\n`,
    );
  }
  process.stderr.write(`${tokenNotice(token)}\n`);
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

function tokenNotice(token: HttpToken): string {
  const header = "clients must send 'Authorization: Bearer <token>'";
  if (token.source === "PYRO_MCP_TOKEN") return `pyro mcp: ${header}, the token in PYRO_MCP_TOKEN`;
  if (token.source === "--token-file") {
    return `pyro mcp: ${header}, the token in ${token.file ?? "--token-file"}`;
  }
  return `pyro mcp: ${header}; token: ${token.token} (kept in ${token.file ?? "the state dir"}, mode 0600)`;
}

/**
 * DNS rebinding: a web page's script can reach a loopback server under a hostile name, so
 * on loopback the Host header must name loopback; and a browser's Origin (sent by every
 * cross-site request) must be a loopback one or explicitly allowed.
 */
function originRefusal(
  req: http.IncomingMessage,
  loopback: boolean,
  allowedOrigins: ReadonlySet<string>,
): string | null {
  if (loopback) {
    const host = hostnameOf(`http://${req.headers.host ?? ""}`);
    if (host === null || !isLoopback(host)) {
      return `Forbidden: Host header '${req.headers.host ?? ""}' is not a loopback host`;
    }
  }
  const origin = req.headers.origin;
  if (origin === undefined || allowedOrigins.has(origin)) return null;
  const host = hostnameOf(origin);
  if (host !== null && isLoopback(host)) return null;
  return `Forbidden: Origin '${origin}' is not allowed (only loopback origins and --allow-origin ones are)`;
}

/** An `--allow-origin` value must be an origin exactly as browsers send it. */
function checkOrigin(origin: string): string {
  let normal: string | null = null;
  try {
    normal = new URL(origin).origin;
  } catch {
    // reported below
  }
  if (normal !== origin || !/^https?:/.test(origin)) {
    throw new ValidationError(
      `--allow-origin must be an http(s) origin like https://app.example or http://host:8080 (no path or trailing slash), got '${origin}'`,
      { field: "allow-origin", value: origin },
    );
  }
  return origin;
}

function hostnameOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.hostname : null;
  } catch {
    return null;
  }
}

/**
 * A body's text, or null when it is over `limit` bytes. The rest of an oversize body is read
 * and thrown away (up to DRAIN_BYTES more), because most clients (fetch) only see the 413
 * answer once they have sent their whole body; past that the connection is closed.
 */
async function readBody(req: http.IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  let oversize = Number(req.headers["content-length"]) > limit;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) oversize = true;
    if (oversize) {
      chunks.length = 0;
      if (size > limit + DRAIN_BYTES) return null;
    } else chunks.push(chunk);
  }
  return oversize ? null : Buffer.concat(chunks).toString("utf8");
}

const DRAIN_BYTES = 64 * 1024 * 1024;

/** One message, or a batch of them (older clients): every request must pass the gate. */
function gateBody(parsed: unknown): { status: number; body: unknown } | null {
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  if (messages.length === 0) {
    return {
      status: 400,
      body: errorAnswer(null, INVALID_REQUEST, "Invalid Request: an empty batch"),
    };
  }
  const answers: ErrorAnswer[] = [];
  let invalid = 0;
  for (const message of messages) {
    const gated = gateMessage(message);
    if (gated.ok) continue;
    invalid += 1;
    if (gated.answer) answers.push(gated.answer);
  }
  if (invalid === 0) return null;
  // A lone bad notification is dropped (nothing answers a notification); a batch with a bad
  // member is refused whole.
  if (answers.length === 0 && !Array.isArray(parsed)) return { status: 202, body: null };
  if (answers.length === 0) {
    const reason = "Invalid Request: the batch holds an invalid notification or response";
    return { status: 400, body: errorAnswer(null, INVALID_REQUEST, reason) };
  }
  if (answers.length === 0) return null;
  // A request with a usable id gets its error as its answer (200, as any JSON-RPC result);
  // an unattributable one is a bad request.
  const status = answers.every((item) => item.id !== null) ? 200 : 400;
  return { status, body: Array.isArray(parsed) ? answers : answers[0] };
}

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  if (body === null) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}
