import type { Readable } from "node:stream";

import { PyroError } from "../errors.js";
import {
  checkRequest,
  checkResponse,
  isAgentOp,
  type AgentOp,
  type AgentParams,
  type AgentReply,
} from "../protocol/operations.js";

/** What a handler sees of one request; `body` is already checked against the op's schema. */
interface RequestContext<Body> {
  body: Body;
  /** The uploaded byte stream, when the client announced one. */
  upload: Readable | null;
  /** Streams bytes back to the client ahead of the JSON response. */
  sendData(chunk: Buffer): Promise<void>;
  /** Aborted when the client goes away, so long operations can stop early. */
  signal: AbortSignal;
}

/** The handler of agent operation `Op`: typed params in, a typed answer out. */
type Handler<Op extends AgentOp> = (
  context: RequestContext<AgentParams<Op>>,
) => Promise<AgentReply<Op>>;

/** What the server needs of a request once its body passed the op's request schema. */
export type Run = (io: Omit<RequestContext<unknown>, "body">) => Promise<Record<string, unknown>>;

/** A request the table admitted (`run` it), or the first problem its body has. */
type Admitted = { ok: true; run: Run } | { ok: false; field: string; message: string };

/**
 * The agent's operations and their handlers. Registering binds a handler to its op's two
 * schemas (src/protocol/operations.ts): the body is parsed before the handler runs, and its
 * answer is checked before it is sent, so handler bodies see and return typed values with
 * no casts, and a handler that answers the wrong shape is a bug reported as `internal`,
 * never a malformed answer on the wire.
 */
export class HandlerTable {
  private readonly routes = new Map<AgentOp, (raw: unknown) => Admitted>();

  set<Op extends AgentOp>(op: Op, handler: Handler<Op>): this {
    this.routes.set(op, (raw) => {
      const checked = checkRequest(op, raw);
      if (!checked.ok) return { ok: false, ...checked.problem };
      const run: Run = async (io) => answerOf(op, await handler({ ...io, body: checked.value }));
      return { ok: true, run };
    });
    return this;
  }

  /** The ops this agent serves: its hello's capabilities. */
  ops(): AgentOp[] {
    return [...this.routes.keys()].sort();
  }

  /** Checks `raw` against the request schema of `op`; undefined for an op not served. */
  admit(op: string, raw: unknown): Admitted | undefined {
    return isAgentOp(op) ? this.routes.get(op)?.(raw) : undefined;
  }
}

/** A handler's answer, once it matched the op's response schema. */
function answerOf<Op extends AgentOp>(op: Op, result: unknown): Record<string, unknown> {
  const checked = checkResponse(op, result);
  if (checked.ok) return checked.value;
  const { field, message } = checked.problem;
  throw new PyroError(
    "internal",
    `the agent's answer to '${op}' does not match the protocol (an agent bug): ${field}: ${message}`,
    { op, field },
  );
}
