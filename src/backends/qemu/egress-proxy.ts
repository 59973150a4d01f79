/**
 * The egress proxy of one guest: the only way out of a VM booted with a network policy.
 * qemu's user-mode network runs with `restrict=on` (the guest reaches nothing by itself) and
 * forwards the guest's connections to the proxy address (10.0.2.100:3128) to a `socat` it
 * spawns per connection, which pipes them to this server's Unix socket in the sandbox's
 * private runtime directory. The server speaks HTTP proxy: CONNECT host:port for TLS and
 * anything else, absolute-URI requests for plain http. Each target is checked against the
 * sandbox's allow_hosts BEFORE its name is resolved (a refused name is never looked up),
 * then each resolved address is checked again (no private or loopback address unless a
 * rule names it). The host alias `host.pyro.internal` maps to 127.0.0.1 on ports a rule
 * names. Refusals go to the sandbox's network log.
 *
 * Forwarded host ports (`forwardServer`) are the transparent path for tools that ignore
 * the proxy variables: the guest's connection to host.pyro.internal:PORT is piped straight
 * to 127.0.0.1:PORT; qemu only forwards the ports a rule allows.
 */
import dns from "node:dns/promises";
import http from "node:http";
import net from "node:net";

import { appendNetworkLog, type NetworkLogEntry } from "../../shared/network-log.js";
import { decideAddress, decideHost, type AllowRule } from "../../shared/network-policy.js";

export type Lookup = (host: string) => Promise<string[]>;

interface EgressProxyOptions {
  rules: readonly AllowRule[];
  logFile: string;
  /** Resolves a name the policy allowed (default: the host's resolver). */
  lookup?: Lookup;
}

const defaultLookup: Lookup = async (host) =>
  (await dns.lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** Why a target is refused (logged and told to the guest), or where to connect. */
type Target = { ok: true; address: string } | { ok: false; reason: string };

class Refusal extends Error {}

export function createEgressProxy(options: EgressProxyOptions): http.Server {
  const lookup = options.lookup ?? defaultLookup;
  const log = (entry: Omit<NetworkLogEntry, "time" | "via">): void =>
    appendNetworkLog(options.logFile, { time: Date.now() / 1000, via: "proxy", ...entry });

  const resolveTarget = async (host: string, port: number): Promise<Target> => {
    const decision = decideHost(options.rules, host, port);
    if (!decision.allowed) return { ok: false, reason: decision.reason };
    if (decision.loopbackAlias) return { ok: true, address: "127.0.0.1" };
    const bare = host.replace(/^\[(.*)\]$/, "$1");
    let addresses: string[];
    if (net.isIP(bare) !== 0) addresses = [bare];
    else {
      try {
        addresses = await lookup(bare);
      } catch (error) {
        return { ok: false, reason: `could not resolve: ${(error as Error).message}` };
      }
    }
    let reason = "the name has no address";
    for (const address of addresses) {
      const verdict = decideAddress(options.rules, address, port);
      if (verdict.allowed) return { ok: true, address };
      reason = verdict.reason;
    }
    return { ok: false, reason };
  };

  const server = http.createServer((request, response) => {
    void forwardRequest(request, response).catch((error: Error) => {
      if (!response.headersSent) {
        const refused = error instanceof Refusal;
        // The client's connection ends with the refusal: nothing waits on a keep-alive.
        response.writeHead(refused ? 403 : 502, {
          "content-type": "text/plain",
          connection: "close",
        });
        response.end(`pyro egress proxy: ${error.message}\n`);
      } else response.destroy();
    });
  });

  /** Plain http through the proxy: `GET http://host:port/path HTTP/1.1`. */
  const forwardRequest = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> => {
    let url: URL;
    try {
      url = new URL(request.url ?? "");
    } catch {
      throw new Refusal(`not a proxy request (absolute http:// URL expected): ${request.url}`);
    }
    if (url.protocol !== "http:") {
      throw new Refusal(`${url.protocol} requests go through CONNECT, not as absolute URLs`);
    }
    const port = url.port ? Number(url.port) : 80;
    const target = await resolveTarget(url.hostname, port);
    if (!target.ok) {
      log({ host: url.hostname, port, reason: target.reason, action: "refused" });
      throw new Refusal(`refused ${url.hostname}:${port}: ${target.reason}`);
    }
    const headers = { ...request.headers };
    delete headers["proxy-connection"];
    delete headers["proxy-authorization"];
    await new Promise<void>((resolve, reject) => {
      const upstream = http.request(
        {
          host: target.address,
          port,
          method: request.method,
          path: `${url.pathname}${url.search}`,
          headers,
          agent: false,
          setHost: false,
        },
        (reply) => {
          response.writeHead(reply.statusCode ?? 502, reply.statusMessage, reply.rawHeaders);
          reply.pipe(response);
          reply.once("end", resolve);
          reply.once("error", reject);
        },
      );
      upstream.once("error", (error) => {
        log({ host: url.hostname, port, reason: error.message, action: "failed" });
        reject(new Error(`could not reach ${url.hostname}:${port}: ${error.message}`));
      });
      request.pipe(upstream);
    });
  };

  server.on("connect", (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    client.on("error", () => undefined);
    const { host, port } = splitAuthority(request.url ?? "");
    const answer = (status: string, text: string): void => {
      client.end(
        `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\npyro egress proxy: ${text}\n`,
      );
    };
    if (host === null || port === null) {
      answer("400 Bad Request", `CONNECT needs host:port, got '${request.url}'`);
      return;
    }
    void resolveTarget(host, port).then((target) => {
      if (!target.ok) {
        log({ host, port, reason: target.reason, action: "refused" });
        answer("403 Forbidden", `refused ${host}:${port}: ${target.reason}`);
        return;
      }
      const upstream = net.connect({ host: target.address, port });
      upstream.once("connect", () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.once("error", (error) => {
        if (!client.writableEnded && upstream.bytesRead === 0 && upstream.bytesWritten === 0) {
          log({ host, port, reason: error.message, action: "failed" });
          answer("502 Bad Gateway", `could not reach ${host}:${port}: ${error.message}`);
        } else client.destroy();
      });
      client.once("close", () => upstream.destroy());
    });
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  return server;
}

/** `host:port` or `[v6]:port` of a CONNECT line. */
function splitAuthority(authority: string): { host: string | null; port: number | null } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):([0-9]{1,5})$/.exec(authority);
  if (!match) return { host: null, port: null };
  return { host: match[1] as string, port: Number(match[2]) };
}

/**
 * The transparent path for one forwarded host port: whatever the guest sends to
 * host.pyro.internal:PORT is piped to 127.0.0.1:PORT (qemu forwards only allowed ports).
 */
export function forwardServer(port: number, logFile: string): net.Server {
  return net.createServer((client) => {
    client.on("error", () => undefined);
    const upstream = net.connect({ host: "127.0.0.1", port });
    upstream.once("connect", () => {
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once("error", (error) => {
      appendNetworkLog(logFile, {
        time: Date.now() / 1000,
        host: "host.pyro.internal",
        port,
        reason: error.message,
        via: "forward",
        action: "failed",
      });
      client.destroy();
    });
    client.once("close", () => upstream.destroy());
  });
}
