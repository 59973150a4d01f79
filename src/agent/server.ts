import { PassThrough, type Duplex, type Readable } from "node:stream";

import { PyroError, asPyroError } from "../errors.js";
import { FramedConnection } from "../protocol/connection.js";
import { FrameError, FrameKind, MAX_FRAME_BYTES, type Frame } from "../protocol/frames.js";
import { decodeMessage, sendMessage, type Message } from "../protocol/messages.js";
import {
  OUR_RANGE,
  disjointError,
  helloRange,
  pickVersion,
  type ProtocolRange,
} from "../protocol/negotiate.js";
import { checkRequest, isAgentOp } from "../protocol/operations.js";

/** What a handler sees of one request. */
interface RequestContext {
  body: Record<string, unknown>;
  /** The uploaded byte stream, when the client announced one. */
  upload: Readable | null;
  /** Streams bytes back to the client ahead of the JSON response. */
  sendData(chunk: Buffer): Promise<void>;
  /** Aborted when the client goes away, so long operations can stop early. */
  signal: AbortSignal;
}

export type Handler = (context: RequestContext) => Promise<Record<string, unknown>>;

interface ServerOptions {
  handlers: ReadonlyMap<string, Handler>;
  hello: () => Record<string, unknown>;
  /** Called with the `host_time_ms` a client's hello carries (the VM supervisor sends one). */
  onHostTime?: (epochMs: number) => void;
  /**
   * Operations that fail on purpose (from $PYRO_AGENT_FAILPOINTS, comma-separated op
   * names). Lets tests break a real agent mid-create or mid-reset without mocks.
   */
  failpoints?: ReadonlySet<string>;
  /** The protocol versions this agent speaks (tests pretend older or newer agents). */
  protocol?: ProtocolRange;
}

/**
 * Serves one client connection. Requests are handled concurrently (a long exec does not
 * block a status probe or a shell read on the same connection), and every handler error
 * reaches the client as a structured {code, message, details}.
 */
export function serveConnection(stream: Duplex, options: ServerOptions): void {
  const uploads = new Map<number, PassThrough>();
  const aborts = new Map<number, AbortController>();
  const range = options.protocol ?? OUR_RANGE;
  /** The negotiated protocol version; null until the hello. */
  let version: number | null = null;

  const connection: FramedConnection = new FramedConnection(
    stream,
    (frame) => onFrame(frame),
    () => {
      for (const upload of uploads.values()) upload.destroy(new Error("client disconnected"));
      for (const controller of aborts.values()) controller.abort();
      uploads.clear();
    },
  );

  function onFrame(frame: Frame): void {
    if (frame.kind === FrameKind.Data) {
      uploads.get(frame.id)?.write(frame.payload);
      return;
    }
    if (frame.kind === FrameKind.DataEnd) {
      uploads.get(frame.id)?.end();
      uploads.delete(frame.id);
      return;
    }
    let message: Message;
    try {
      message = decodeMessage(frame);
    } catch (error) {
      // The client sent something unreadable: its fault, not the agent's (not `internal`).
      void reply(frame.id, new PyroError("protocol_error", (error as Error).message));
      return;
    }
    if (message.type === "hello") {
      greet(message.fields);
      return;
    }
    if (message.type === "abort") {
      uploads
        .get(frame.id)
        ?.destroy(new PyroError("invalid_argument", "client aborted the upload"));
      uploads.delete(frame.id);
      aborts.get(frame.id)?.abort();
      return;
    }
    if (version === null) {
      void reply(frame.id, new PyroError("protocol_error", "the hello handshake must come first"));
      return;
    }
    if (message.type !== "request" || typeof message.fields.op !== "string") {
      void reply(frame.id, new PyroError("protocol_error", "expected a request message"));
      return;
    }
    void handle(frame.id, message.fields.op, message.fields);
  }

  /** Picks the highest protocol version both sides speak, or refuses and hangs up. */
  function greet(hello: Record<string, unknown>): void {
    const theirs = helloRange(hello);
    const picked = theirs ? pickVersion(range, theirs) : null;
    if (picked === null) {
      void connection
        .sendJson(0, { type: "error", error: disjointError(range, theirs).toJSON() })
        .finally(() => connection.close());
      return;
    }
    version = picked;
    if (typeof hello.host_time_ms === "number") options.onHostTime?.(hello.host_time_ms);
    void connection.sendJson(0, {
      type: "hello",
      ...options.hello(),
      protocol_version: picked,
      protocol_min: range.min,
      protocol_max: range.max,
    });
  }

  async function handle(id: number, op: string, message: Record<string, unknown>): Promise<void> {
    let upload: PassThrough | null = null;
    if (message.upload === true) {
      upload = new PassThrough();
      uploads.set(id, upload);
    }
    const admitted = admit(op, message.body ?? {});
    if (!("handler" in admitted)) {
      // Drain whatever the client still sends so its upload loop can finish.
      upload?.resume();
      uploads.delete(id);
      await reply(id, admitted.error);
      return;
    }
    const { handler, body } = admitted;
    const controller = new AbortController();
    aborts.set(id, controller);
    let streamed = false;
    try {
      const result = await handler({
        body,
        upload,
        signal: controller.signal,
        sendData: async (chunk) => {
          streamed = true;
          await connection.sendData(id, chunk);
        },
      });
      if (streamed) await connection.sendDataEnd(id);
      await reply(id, result);
    } catch (error) {
      upload?.resume();
      await reply(id, asPyroError(error));
    } finally {
      aborts.delete(id);
      uploads.delete(id);
    }
  }

  /**
   * The checked body of a request, or why it must not reach its handler: an unknown op, a
   * body of the wrong shape (naming the op and the field), a failpoint.
   */
  function admit(
    op: string,
    raw: unknown,
  ): { handler: Handler; body: Record<string, unknown> } | { error: PyroError } {
    const handler = options.handlers.get(op);
    if (!handler || !isAgentOp(op)) {
      return {
        error: new PyroError("protocol_error", `unknown agent operation '${op}'`, { op }),
      };
    }
    const checked = checkRequest(op, raw);
    if (!checked.ok) {
      const { field, message } = checked.problem;
      return {
        error: new PyroError("invalid_argument", `agent operation '${op}': ${field}: ${message}`, {
          op,
          field,
        }),
      };
    }
    if (options.failpoints?.has(op)) {
      return {
        error: new PyroError("agent_error", `injected failure in '${op}' (PYRO_AGENT_FAILPOINTS)`),
      };
    }
    return { handler, body: checked.value };
  }

  async function reply(id: number, result: Record<string, unknown> | PyroError): Promise<void> {
    if (connection.isClosed) return;
    const fields =
      result instanceof PyroError
        ? { ok: false, error: result.toJSON() }
        : { ok: true, body: result };
    // Before the hello (a request that came first) the client's version is unknown: 1 is
    // what every client reads.
    const speaking = version ?? 1;
    try {
      await sendMessage(connection, speaking, id, "response", fields);
    } catch (error) {
      if (!(error instanceof FrameError) || connection.isClosed) return;
      // Never leave a client waiting: a result too large for one frame becomes an error.
      const tooLarge = new PyroError(
        "limit_exceeded",
        `the agent's response is larger than the ${MAX_FRAME_BYTES}-byte frame limit`,
        { limit: "frame_bytes", max: MAX_FRAME_BYTES },
        { cause: error },
      );
      await sendMessage(connection, speaking, id, "response", {
        ok: false,
        error: tooLarge.toJSON(),
      }).catch(() => undefined);
    }
  }
}
