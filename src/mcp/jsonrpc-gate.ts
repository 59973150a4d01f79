/**
 * The edge of the MCP server for raw JSON-RPC traffic (stdio lines and HTTP bodies). The MCP
 * SDK silently drops what its schemas do not accept: a request with id `null` or `1.5` parses
 * as a notification (no answer), params given as an array or an object `progressToken` fail
 * the whole message (no answer), and a tool call whose params do not fit comes back as an
 * "internal error". So every message is checked here first, and whatever is not a valid
 * message gets a JSON-RPC error answer (-32700 parse error, -32600 invalid request, -32602
 * invalid params) before the SDK ever sees it. Notifications and responses never get an
 * answer (JSON-RPC forbids it); an invalid one is only reported to the log.
 */
import {
  ClientNotificationSchema,
  ClientRequestSchema,
  JSONRPCMessageSchema,
  type JSONRPCMessage,
} from "@modelcontextprotocol/sdk/types.js";

/** The largest message accepted, on stdio (one line) and over HTTP (one body): 10 MiB. */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;

type RequestId = string | number;

export interface ErrorAnswer {
  jsonrpc: "2.0";
  id: RequestId | null;
  error: { code: number; message: string };
}

export function errorAnswer(id: RequestId | null, code: number, message: string): ErrorAnswer {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

/** A message the SDK may handle, or why not and (for an invalid request) the answer to send. */
type Gated =
  { ok: true; message: JSONRPCMessage } | { ok: false; reason: string; answer: ErrorAnswer | null };

/** Parses one message's text (a stdio line, an HTTP body holding one message). */
export function gateText(text: string): Gated {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = `Parse error: ${(error as Error).message}`;
    return { ok: false, reason, answer: errorAnswer(null, PARSE_ERROR, reason) };
  }
  return gateMessage(value);
}

/** MCP ids are strings or integers (JSON-RPC's null and fractions are not allowed). */
function isRequestId(value: unknown): value is RequestId {
  return typeof value === "string" || Number.isSafeInteger(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return `the number ${JSON.stringify(value)}`;
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Checks one parsed JSON value as a JSON-RPC message from an MCP client. */
export function gateMessage(value: unknown): Gated {
  if (!isPlainObject(value)) {
    const reason = `Invalid Request: a message must be a JSON object, got ${describe(value)}${
      Array.isArray(value) ? " (JSON-RPC batches are not supported here)" : ""
    }`;
    return { ok: false, reason, answer: errorAnswer(null, INVALID_REQUEST, reason) };
  }
  const hasId = "id" in value;
  const id = hasId && isRequestId(value.id) ? value.id : null;
  const invalid = (code: number, reason: string): Gated => ({
    ok: false,
    reason,
    // Only a request is answered; a notification or a response never is.
    answer: hasId && "method" in value ? errorAnswer(id, code, reason) : null,
  });
  if (hasId && id === null) {
    const reason = `Invalid Request: id must be a string or an integer, got ${describe(value.id)}`;
    // A request with a broken id still gets an answer, addressed to id null.
    return { ok: false, reason, answer: errorAnswer(null, INVALID_REQUEST, reason) };
  }
  if (value.jsonrpc !== "2.0") {
    return invalid(INVALID_REQUEST, `Invalid Request: jsonrpc must be "2.0"`);
  }
  if (!("method" in value)) {
    if (!hasId || !("result" in value || "error" in value)) {
      const reason =
        "Invalid Request: a message needs a method (request, notification) or an id with a result or error (response)";
      return { ok: false, reason, answer: errorAnswer(id, INVALID_REQUEST, reason) };
    }
    return checked(value, "Invalid response", () => null);
  }
  if (typeof value.method !== "string" || value.method === "") {
    return invalid(INVALID_REQUEST, `Invalid Request: method must be a non-empty string`);
  }
  if ("params" in value) {
    if (!isPlainObject(value.params)) {
      return invalid(
        INVALID_PARAMS,
        `Invalid params: params of ${value.method} must be an object, got ${describe(value.params)}`,
      );
    }
    const meta = value.params._meta;
    if (meta !== undefined && !isPlainObject(meta)) {
      return invalid(
        INVALID_PARAMS,
        `Invalid params: params._meta must be an object, got ${describe(meta)}`,
      );
    }
    if (isPlainObject(meta) && "progressToken" in meta && !isRequestId(meta.progressToken)) {
      return invalid(
        INVALID_PARAMS,
        `Invalid params: params._meta.progressToken must be a string or an integer, got ${describe(meta.progressToken)}`,
      );
    }
  }
  const known = (hasId ? clientRequests : clientNotifications).get(value.method);
  if (known) {
    // A known method's params must fit its schema: the SDK would otherwise answer a
    // request with a generic internal error (-32603), or drop a notification silently.
    const parsed = known.safeParse({ method: value.method, params: value.params });
    if (!parsed.success) {
      const issue = parsed.error?.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "params";
      return invalid(
        INVALID_PARAMS,
        `Invalid params for ${value.method}: ${where}: ${issue?.message ?? "invalid"}`,
      );
    }
  }
  return checked(value, "Invalid Request", (reason) =>
    hasId ? errorAnswer(id, INVALID_REQUEST, reason) : null,
  );
}

/** The SDK's own message schema, last: what passes here is exactly what the SDK accepts. */
function checked(
  value: Record<string, unknown>,
  label: string,
  answer: (reason: string) => ErrorAnswer | null,
): Gated {
  const parsed = JSONRPCMessageSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  const reason = `${label}: ${where}${issue?.message ?? "not a JSON-RPC 2.0 message"}`;
  return { ok: false, reason, answer: answer(reason) };
}

interface MethodSchema {
  safeParse(value: unknown): {
    success: boolean;
    error?: { issues: Array<{ path: PropertyKey[]; message: string }> };
  };
}

/** method -> schema, from the SDK's unions of every request and notification a client sends. */
function byMethod(union: { options: readonly unknown[] }): Map<string, MethodSchema> {
  const map = new Map<string, MethodSchema>();
  for (const option of union.options) {
    const schema = option as MethodSchema & { shape?: { method?: { value?: unknown } } };
    const method = schema.shape?.method?.value;
    if (typeof method === "string") map.set(method, schema);
  }
  return map;
}

const clientRequests = byMethod(ClientRequestSchema);
const clientNotifications = byMethod(ClientNotificationSchema);

/**
 * The id of a message too large to parse, when it can be read from its first or last bytes
 * (the SDK's client writes `"id"` last): so the client's pending call gets its error answer
 * instead of waiting for a timeout. Best effort; `null` when not recognisable.
 */
export function recoverId(head: string, tail: string): RequestId | null {
  const value = String.raw`(-?\d{1,15}|"(?:[^"\\]|\\.){0,200}")`;
  const atStart = new RegExp(
    String.raw`^\s*\{\s*(?:"(?:jsonrpc|method)"\s*:\s*"[^"\\]{0,200}"\s*,\s*)*"id"\s*:\s*${value}\s*[,}]`,
  ).exec(head);
  const atEnd = new RegExp(String.raw`[,{]\s*"id"\s*:\s*${value}\s*\}\s*$`).exec(tail);
  const raw = atStart?.[1] ?? atEnd?.[1];
  if (raw === undefined) return null;
  try {
    const id: unknown = JSON.parse(raw);
    return isRequestId(id) ? id : null;
  } catch {
    return null;
  }
}
