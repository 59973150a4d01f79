/**
 * Service readiness probes (the shapes and their normalisation are in
 * src/shared/readiness.ts). Probes run inside the agent, so `127.0.0.1:8080` and
 * `/workspace/.ready` mean the sandbox's loopback and disk, in a guest as on the host.
 */
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";

import type { WorkspacePaths } from "../shared/guest-paths.js";
import { parseHostPort, type Readiness } from "../shared/readiness.js";
import { runCommand } from "./exec.js";

const TCP_TIMEOUT_MS = 1_000;
const HTTP_TIMEOUT_MS = 2_000;
/** A readiness command that hangs must not stall the loop past its own deadline. */
const COMMAND_TIMEOUT_SECONDS = 5;

/** Where a probe runs: the workspace mapping and the service's real cwd. */
interface ProbeContext {
  paths: WorkspacePaths;
  cwdLocal: string;
}

/** One readiness check. Never throws: anything that goes wrong means "not ready yet". */
export async function probeReadiness(
  readiness: Readiness,
  context: ProbeContext,
): Promise<boolean> {
  try {
    switch (readiness.type) {
      case "file":
        await fs.stat(context.paths.toLocal(readiness.path));
        return true;
      case "tcp":
        return await probeTcp(parseHostPort(readiness.address));
      case "http":
        return await probeHttp(readiness.url);
      case "command":
        return (await runProbeCommand(context.cwdLocal, readiness.command)) === 0;
    }
  } catch {
    return false;
  }
}

/** Runs a readiness command in `cwd` and returns its exit code (124 when it hangs). */
export async function runProbeCommand(
  cwdLocal: string,
  command: string,
  timeoutSeconds = COMMAND_TIMEOUT_SECONDS,
): Promise<number> {
  const result = await runCommand({ command, cwd: cwdLocal, timeoutSeconds, maxOutputBytes: 4096 });
  return result.exit_code;
}

function probeTcp(target: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const done = (ready: boolean): void => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(TCP_TIMEOUT_MS, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Any 2xx or 3xx answer counts; redirects are not followed (a redirect proves the server is up). */
function probeHttp(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    // A dev server's self-signed certificate still proves it is listening.
    const options = { timeout: HTTP_TIMEOUT_MS, rejectUnauthorized: false };
    const client = url.startsWith("https:") ? https : http;
    const request = client.get(url, options, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    request.once("timeout", () => request.destroy(new Error("timeout")));
    request.once("error", () => resolve(false));
  });
}
