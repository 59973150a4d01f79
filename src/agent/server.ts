import { PassThrough, type Duplex, type Readable } from "node:stream";

import { PyroError, asPyroError } from "../errors.js";
import { FramedConnection } from "../protocol/connection.js";
import {
  FrameError,
  FrameKind,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  parseJsonPayload,
  type Frame,
} from "../protocol/frames.js";

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
}

/**
 * Serves one client connection. Requests are handled concurrently (a long exec does not
 * block a status probe or a shell read on the same connection), and every handler error
 * reaches the client as a structured {code, message, details}.
 */
export function serveConnection(stream: Duplex, options: ServerOptions): void {
  const uploads = new Map<number, PassThrough>();
  const aborts = new Map<number, AbortController>();
  let greeted = false;

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
    let message: Record<string, unknown>;
    try {
      message = parseJsonPayload(frame.payload);
    } catch (error) {
      void reply(frame.id, asPyroError(error));
      return;
    }
    if (message.type === "hello") {
      if (message.protocol_version !== PROTOCOL_VERSION) {
        const error = new PyroError(
          "protocol_error",
          `client speaks protocol version ${String(message.protocol_version)}, agent speaks ${PROTOCOL_VERSION}`,
        );
        void connection
          .sendJson(0, { type: "error", error: error.toJSON() })
          .finally(() => connection.close());
        return;
      }
      greeted = true;
      if (typeof message.host_time_ms === "number") options.onHostTime?.(message.host_time_ms);
      void connection.sendJson(0, { type: "hello", ...options.hello() });
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
    if (!greeted) {
      void reply(frame.id, new PyroError("protocol_error", "the hello handshake must come first"));
      return;
    }
    if (message.type !== "request" || typeof message.op !== "string") {
      void reply(frame.id, new PyroError("protocol_error", "expected a request message"));
      return;
    }
    void handle(frame.id, message.op, message);
  }

  async function handle(id: number, op: string, message: Record<string, unknown>): Promise<void> {
    const handler = options.handlers.get(op);
    let upload: PassThrough | null = null;
    if (message.upload === true) {
      upload = new PassThrough();
      uploads.set(id, upload);
    }
    if (!handler) {
      upload?.resume();
      await reply(id, new PyroError("protocol_error", `unknown agent operation '${op}'`));
      return;
    }
    if (options.failpoints?.has(op)) {
      upload?.resume();
      await reply(
        id,
        new PyroError("agent_error", `injected failure in '${op}' (PYRO_AGENT_FAILPOINTS)`),
      );
      return;
    }
    const controller = new AbortController();
    aborts.set(id, controller);
    const body =
      typeof message.body === "object" && message.body !== null
        ? (message.body as Record<string, unknown>)
        : {};
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
      // Drain whatever the client still sends so its upload loop can finish.
      upload?.resume();
      await reply(id, asPyroError(error));
    } finally {
      aborts.delete(id);
      uploads.delete(id);
    }
  }

  async function reply(id: number, result: Record<string, unknown> | PyroError): Promise<void> {
    if (connection.isClosed) return;
    const message =
      result instanceof PyroError
        ? { type: "response", ok: false, error: result.toJSON() }
        : { type: "response", ok: true, body: result };
    try {
      await connection.sendJson(id, message);
    } catch (error) {
      if (!(error instanceof FrameError) || connection.isClosed) return;
      // Never leave a client waiting: a result too large for one frame becomes an error.
      const tooLarge = new PyroError(
        "limit_exceeded",
        `the agent's response is larger than the ${MAX_FRAME_BYTES}-byte frame limit`,
        { limit: "frame_bytes", max: MAX_FRAME_BYTES },
        { cause: error },
      );
      await connection
        .sendJson(id, { type: "response", ok: false, error: tooLarge.toJSON() })
        .catch(() => undefined);
    }
  }
}
