import { closeSync } from "node:fs";
import path from "node:path";

import { ValidationError } from "../errors.js";
import {
  UnsafePathError,
  openDirectory,
  openDirectoryBelow,
  unsafePathError,
} from "../no-follow.js";

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

  resolve(raw: string, field: string): ResolvedPath {
    const guest = normalizeGuestPath(raw, field);
    return {
      guest,
      local: this.toLocal(guest),
      relative: path.posix.relative(GUEST_WORKSPACE, guest),
    };
  }

  /** Opens the workspace root itself (never through a symlink put in its place). */
  openRoot(): number {
    return openDirectory(this.root);
  }

  /**
   * Opens the directory at `target` walking down from the root without following any
   * symlink (see no-follow.ts); with `create`, missing directories are made. A symlink or
   * non-directory on the way is refused with an error naming `field` and the component.
   * The caller closes the descriptor.
   */
  openDirectory(target: ResolvedPath, field: string, options: { create?: boolean } = {}): number {
    const rootFd = this.openRoot();
    try {
      return openDirectoryBelow(rootFd, target.relative, options);
    } catch (error) {
      if (error instanceof UnsafePathError) {
        throw unsafePathError(error, field, target.guest, `${GUEST_WORKSPACE}/`);
      }
      throw error;
    } finally {
      closeSync(rootFd);
    }
  }
}

/** A guest path in its three spellings. */
interface ResolvedPath {
  /** Normalised absolute guest path (`/workspace/...`). */
  guest: string;
  /** Where it lives for this agent (path-based: only for things that may follow links). */
  local: string;
  /** Relative to /workspace; "" for /workspace itself. */
  relative: string;
}
