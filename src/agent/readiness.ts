/**
 * Service readiness: how a caller describes "this service is up" (normalisation, shared by
 * the manager, which validates before it touches a sandbox, and the agent, which trusts no
 * client), and the probes themselves. Probes run inside the agent, so `127.0.0.1:8080` and
 * `/workspace/.ready` mean the sandbox's loopback and disk, in a guest as on the host.
 */
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";

import { ValidationError } from "../errors.js";
import { runCommand } from "./exec.js";
import { GUEST_WORKSPACE, normalizeGuestPath, type WorkspacePaths } from "./paths.js";

export const READINESS_TYPES = ["file", "tcp", "http", "command"] as const;

export type Readiness =
  | { type: "file"; path: string }
  | { type: "tcp"; address: string }
  | { type: "http"; url: string }
  | { type: "command"; command: string };

const TCP_TIMEOUT_MS = 1_000;
const HTTP_TIMEOUT_MS = 2_000;
/** A readiness command that hangs must not stall the loop past its own deadline. */
const COMMAND_TIMEOUT_SECONDS = 5;

/**
 * Checks and canonicalises a readiness description. `null`/`undefined` means "no probe".
 * A relative file path is resolved against the service's cwd and must stay in /workspace;
 * unknown extra keys are dropped so the stored form is exactly one of the four shapes.
 */
export function normalizeReadiness(raw: unknown, cwd: string = GUEST_WORKSPACE): Readiness | null {
  if (raw === null || raw === undefined) return null;
  const types = READINESS_TYPES.join(", ");
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ValidationError(`readiness must be an object whose type is one of: ${types}`, {
      field: "readiness",
    });
  }
  const spec = raw as Record<string, unknown>;
  switch (spec.type) {
    case "file": {
      const value = requiredString(spec.path, "readiness.path", "file");
      const joined = path.posix.isAbsolute(value) ? value : path.posix.join(cwd, value);
      return { type: "file", path: normalizeGuestPath(joined, "readiness.path") };
    }
    case "tcp": {
      const address = requiredString(spec.address, "readiness.address", "tcp");
      parseHostPort(address);
      return { type: "tcp", address };
    }
    case "http": {
      const url = requiredString(spec.url, "readiness.url", "http");
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new ValidationError(`readiness.url must be an absolute http(s) URL, got '${url}'`, {
          field: "readiness.url",
        });
      }
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        throw new ValidationError(`readiness.url must use http or https, got '${url}'`, {
          field: "readiness.url",
        });
      }
      return { type: "http", url };
    }
    case "command":
      return {
        type: "command",
        command: requiredString(spec.command, "readiness.command", "command"),
      };
    default:
      throw new ValidationError(
        `readiness.type must be one of: ${types}; got '${String(spec.type)}'`,
        { field: "readiness.type", value: spec.type },
      );
  }
}

function requiredString(value: unknown, field: string, type: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(`${field} is required for ${type} readiness`, { field });
  }
  return value.trim();
}

/** Splits `HOST:PORT` (IPv6 hosts in brackets: `[::1]:8080`). */
export function parseHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(
      `readiness.address must use HOST:PORT format (port 1-65535), got '${address}'`,
      {
        field: "readiness.address",
        value: address,
      },
    );
  }
  return { host, port };
}

/** Where a probe runs: the workspace mapping and the service's real cwd. */
export interface ProbeContext {
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
