/**
 * Service readiness as a caller describes it ("this service is up"): the four shapes and
 * their normalisation, shared by the manager, which validates before it touches a sandbox,
 * and the agent, which trusts no client and runs the probes (src/agent/readiness.ts).
 */
import path from "node:path";

import { ValidationError } from "../errors.js";
import { GUEST_WORKSPACE, normalizeGuestPath } from "./guest-paths.js";

const READINESS_TYPES = ["file", "tcp", "http", "command"] as const;

export type Readiness =
  | { type: "file"; path: string }
  | { type: "tcp"; address: string }
  | { type: "http"; url: string }
  | { type: "command"; command: string };

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
