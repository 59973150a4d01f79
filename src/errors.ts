/**
 * Typed errors with stable codes. Every error that crosses a boundary (agent -> host,
 * manager -> CLI/SDK/MCP) is a PyroError, so front ends can map `code` to an exit status
 * or a tool error without parsing messages. Messages keep the reference implementation's
 * fragments ("does not exist", "must be in 'started' state", ...) because clients match them.
 */

export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "invalid_state"
  | "limit_exceeded"
  | "no_space"
  | "expired"
  | "guest_unavailable"
  | "unsafe_archive"
  | "already_exists"
  | "protocol_error"
  | "agent_error"
  | "backend_error"
  | "internal";

export class PyroError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "PyroError";
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Bad input: names the field, the rule and the value. */
export class ValidationError extends PyroError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("invalid_argument", message, details);
    this.name = "ValidationError";
  }
}

export class NotFoundError extends PyroError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("not_found", message, details);
    this.name = "NotFoundError";
  }
}

export class StateError extends PyroError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("invalid_state", message, details);
    this.name = "StateError";
  }
}

export class UnsafeArchiveError extends PyroError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("unsafe_archive", message, details);
    this.name = "UnsafeArchiveError";
  }
}

const KNOWN_CODES = new Set<string>([
  "invalid_argument",
  "not_found",
  "invalid_state",
  "limit_exceeded",
  "no_space",
  "expired",
  "guest_unavailable",
  "unsafe_archive",
  "already_exists",
  "protocol_error",
  "agent_error",
  "backend_error",
  "internal",
]);

/** Rebuilds a PyroError from its wire form; unknown codes become `agent_error`. */
export function errorFromWire(payload: unknown): PyroError {
  if (typeof payload === "object" && payload !== null) {
    const record = payload as Record<string, unknown>;
    const code =
      typeof record.code === "string" && KNOWN_CODES.has(record.code)
        ? (record.code as ErrorCode)
        : "agent_error";
    const message = typeof record.message === "string" ? record.message : "agent error";
    const details =
      typeof record.details === "object" && record.details !== null
        ? (record.details as Record<string, unknown>)
        : {};
    return new PyroError(code, message, details);
  }
  return new PyroError("protocol_error", "malformed error payload from agent");
}

/**
 * Converts anything thrown into a PyroError without losing its message. System errors a
 * caller can act on are not pyro bugs: a full disk is `no_space`, a path or command the
 * kernel refuses for its length is `invalid_argument` naming it.
 */
export function asPyroError(error: unknown): PyroError {
  if (error instanceof PyroError) return error;
  if (error instanceof Error)
    return fromSystemError(error) ?? new PyroError("internal", error.message);
  return new PyroError("internal", String(error));
}

function fromSystemError(error: Error): PyroError | null {
  const { code, path } = error as NodeJS.ErrnoException;
  const where = path ? { path } : {};
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new PyroError(
        "no_space",
        `no space left on the device${path ? ` writing '${path}'` : ""}: ${error.message}; free some space (delete snapshots, workspaces or files) and retry`,
        where,
      );
    case "ENAMETOOLONG":
      return new ValidationError(
        `path too long${path ? `: '${path}'` : ""} (the system's limit is 4095 bytes per path, 255 per name): ${error.message}`,
        where,
      );
    case "E2BIG":
      return new ValidationError(
        `the command or its environment is too long for the kernel (128 KiB per argument): ${error.message}`,
      );
    default:
      return null;
  }
}
