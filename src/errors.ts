/**
 * Typed errors with stable codes. Every error that crosses a boundary (agent -> host,
 * manager -> CLI/SDK/MCP) is a PyroError, so front ends can map `code` to an exit status
 * or a tool error without parsing messages. Messages keep the reference implementation's
 * fragments ("does not exist", "must be in 'started' state", ...) because clients match them.
 *
 * ERROR_CODES is the one list of codes and what each means: the ErrorCode type is derived
 * from it, docs/errors.md documents the same codes (test/errors.test.ts keeps them equal),
 * and src/operations/hints.ts says what to do next for each.
 */
export const ERROR_CODES = {
  /** Bad input: wrong type, unknown or missing field, out of range, a path escaping /workspace. The message names the field, the rule and the value. */
  invalid_argument: "bad input: the message names the field, the rule and the value",
  /** No such workspace, VM, snapshot, shell, service, operation, or host path. */
  not_found: "no such workspace, VM, snapshot, shell, service, operation or host path",
  /** The sandbox (or shell, service, snapshot) is not in a state that allows the operation: stopped, resetting, exited, damaged. */
  invalid_state:
    "the sandbox, shell, service or snapshot is not in a state that allows the operation",
  /** Another pyro process held the sandbox's (or environment's) lock for longer than the wait: nothing was changed. */
  busy: "another pyro process held the lock on this sandbox or environment for longer than the wait",
  /** A count or size limit would be exceeded: active VMs, a workspace quota, shells, services, an upload or a response. `details.limit` names it. */
  limit_exceeded: "a count or size limit would be exceeded; details.limit names it",
  /** The host's disk (or the user's disk quota) is full. */
  no_space: "the host's disk (or disk quota) is full",
  /** The sandbox passed its TTL and was deleted. */
  expired: "the sandbox passed its TTL and was deleted",
  /** No guest can run this sandbox as asked: no guest backend here, the environment is not pulled, or a capability (network) is missing. `details.reason` says which. */
  guest_unavailable: "no guest can run this sandbox as asked; details.reason says why",
  /** An archive member is absolute, has `..`, passes a symlink or is a device. */
  unsafe_archive: "an archive member is absolute, has '..', passes a symlink or is a device",
  /** The snapshot name or export output path is taken. */
  already_exists: "the snapshot name or export output path is taken",
  /** The sandbox's agent sent something that breaks the host-agent protocol (a bad frame, a version mismatch). */
  protocol_error: "the sandbox's agent broke the host-agent protocol",
  /** The sandbox's agent failed or stopped answering (hung, overloaded, a command it could not start). */
  agent_error: "the sandbox's agent failed or stopped answering",
  /** The backend failed: a boot failed or timed out, the connection to the sandbox was lost, a host tool failed, an environment is broken. */
  backend_error:
    "the sandbox backend failed: boot, lost connection, host tool or broken environment",
  /** The caller cancelled the call (an AbortSignal, Ctrl-C or SIGTERM of the CLI, an MCP cancellation or a closed MCP client): a command it ran was killed and logged with `cancelled: true`. */
  cancelled:
    "the caller cancelled the call; a command it ran was killed and logged with cancelled: true",
  /** A pyro bug: something that cannot happen did. */
  internal: "a pyro bug: something that cannot happen did",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Longest cause message kept in an error's wire form (details.cause). */
const CAUSE_CHARS = 300;

interface PyroErrorOptions {
  /** The error this one wraps (ES2022 Error cause). Its message travels in details.cause. */
  cause?: unknown;
}

export class PyroError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options: PyroErrorOptions = {},
  ) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "PyroError";
    this.code = code;
    this.details = details;
  }

  /**
   * The wire and --json form: code, message, details. A cause adds only its one-line message
   * (`details.cause`, when the message does not already say it): never a stack, which would
   * show a host's internals to a guest or a client.
   */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    const cause = causeMessage(this.cause);
    const details =
      cause === null || this.message.includes(cause) || "cause" in this.details
        ? this.details
        : { ...this.details, cause };
    return { code: this.code, message: this.message, details };
  }
}

/** A cause's message, one line, bounded; null when there is none. */
function causeMessage(cause: unknown): string | null {
  if (cause === undefined || cause === null) return null;
  const text = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0] ?? "";
  if (text === "") return null;
  return text.length > CAUSE_CHARS ? `${text.slice(0, CAUSE_CHARS)}…` : text;
}

/** Bad input: names the field, the rule and the value. */
export class ValidationError extends PyroError {
  constructor(
    message: string,
    details: Record<string, unknown> = {},
    options: PyroErrorOptions = {},
  ) {
    super("invalid_argument", message, details, options);
    this.name = "ValidationError";
  }
}

export class NotFoundError extends PyroError {
  constructor(
    message: string,
    details: Record<string, unknown> = {},
    options: PyroErrorOptions = {},
  ) {
    super("not_found", message, details, options);
    this.name = "NotFoundError";
  }
}

export class StateError extends PyroError {
  constructor(
    message: string,
    details: Record<string, unknown> = {},
    options: PyroErrorOptions = {},
  ) {
    super("invalid_state", message, details, options);
    this.name = "StateError";
  }
}

export class UnsafeArchiveError extends PyroError {
  constructor(
    message: string,
    details: Record<string, unknown> = {},
    options: PyroErrorOptions = {},
  ) {
    super("unsafe_archive", message, details, options);
    this.name = "UnsafeArchiveError";
  }
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

/** Rebuilds a PyroError from its wire form; unknown codes become `agent_error`. */
export function errorFromWire(payload: unknown): PyroError {
  if (typeof payload === "object" && payload !== null) {
    const record = payload as Record<string, unknown>;
    const code = isErrorCode(record.code) ? record.code : "agent_error";
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
    return systemError(error) ?? new PyroError("internal", error.message, {}, { cause: error });
  return new PyroError("internal", String(error));
}

/** The PyroError for a system error a caller can act on (full disk, over-long path), else null. */
export function systemError(error: Error): PyroError | null {
  const { code, path } = error as NodeJS.ErrnoException;
  const where = path ? { path } : {};
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new PyroError(
        "no_space",
        `no space left on the device${path ? ` writing '${path}'` : ""}: ${error.message}; free some space (delete snapshots, workspaces or files) and retry`,
        where,
        { cause: error },
      );
    case "ENAMETOOLONG":
      return new ValidationError(
        `path too long${path ? `: '${path}'` : ""} (the system's limit is 4095 bytes per path, 255 per name): ${error.message}`,
        where,
        { cause: error },
      );
    case "E2BIG":
      return new ValidationError(
        `the command or its environment is too long for the kernel (128 KiB per argument): ${error.message}`,
        {},
        { cause: error },
      );
    default:
      return null;
  }
}
