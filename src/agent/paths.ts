import path from "node:path";

import { ValidationError } from "../errors.js";

export const GUEST_WORKSPACE = "/workspace";

/**
 * Resolves a guest path (absolute under /workspace, or relative to it) to a normalised
 * absolute guest path, refusing anything that escapes /workspace.
 */
export function normalizeGuestPath(raw: string, field: string): string {
  if (typeof raw !== "string" || raw.length === 0) {
    throw new ValidationError(`${field} must be a non-empty path`, { field });
  }
  if (raw.includes("\0")) {
    throw new ValidationError(`${field} must not contain NUL bytes`, { field });
  }
  const absolute = path.posix.isAbsolute(raw) ? raw : path.posix.join(GUEST_WORKSPACE, raw);
  const normalized = path.posix.normalize(absolute).replace(/\/+$/, "") || "/";
  if (normalized !== GUEST_WORKSPACE && !normalized.startsWith(`${GUEST_WORKSPACE}/`)) {
    throw new ValidationError(`${field} must stay inside /workspace: '${raw}'`, {
      field,
      value: raw,
    });
  }
  return normalized;
}

/** Maps guest paths to where /workspace really lives for this agent. */
export class WorkspacePaths {
  constructor(readonly root: string) {}

  toLocal(guestPath: string): string {
    const relative = path.posix.relative(GUEST_WORKSPACE, guestPath);
    return relative === "" ? this.root : path.join(this.root, ...relative.split("/"));
  }

  resolve(raw: string, field: string): { guest: string; local: string; relative: string } {
    const guest = normalizeGuestPath(raw, field);
    return {
      guest,
      local: this.toLocal(guest),
      relative: path.posix.relative(GUEST_WORKSPACE, guest),
    };
  }
}
