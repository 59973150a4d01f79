import { PassThrough, type Duplex } from "node:stream";

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
import type { HandlerTable, Run } from "./handler-table.js";

interface ServerOptions {
  handlers: HandlerTable;
  hello: () => Record<string, unknown>;
  /**
   * A guest agent's clock, set from the VM supervisor's hellos: `clock_step_ms` moves it
   * (the supervisor measured the offset with `clock_probe_ms`), `host_time_ms` alone (an
   * older supervisor) sets it.
   */
  clock?: {
    step: (stepMs: number) => Promise<void>;
    sync: (hostEpochMs: number) => Promise<unknown>;
  };
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
  new ConnectionState(stream, options);
}

/**
 * One connection's state and the steps that act on it: routing a frame (onFrame), the
 * handshake (greet), running a request (handle) and answering it (reply).
 */
class ConnectionState {
  /** Upload streams of requests still receiving data frames, by request id. */
  private readonly uploads = new Map<number, PassThrough>();
  /** Lets an abort message or a disconnect stop a running handler, by request id. */
  private readonly aborts = new Map<number, AbortController>();
  private readonly range: ProtocolRange;
  /** The negotiated protocol version; null until the hello. */
  private version: number | null = null;
  private readonly connection: FramedConnection;

  constructor(
    stream: Duplex,
    private readonly options: ServerOptions,
  ) {
    this.range = options.protocol ?? OUR_RANGE;
    this.connection = new FramedConnection(
      stream,
      (frame) => this.onFrame(frame),
      () => this.onClose(),
    );
  }

  /** The client went away: fail pending uploads and stop running handlers. */
  private onClose(): void {
    for (const upload of this.uploads.values()) upload.destroy(new Error("client disconnected"));
    for (const controller of this.aborts.values()) controller.abort();
    this.uploads.clear();
  }

  /** Routes one frame: upload bytes, the hello, an abort, or a request. */
  private onFrame(frame: Frame): void {
    if (frame.kind === FrameKind.Data) {
      this.uploads.get(frame.id)?.write(frame.payload);
      return;
    }
    if (frame.kind === FrameKind.DataEnd) {
      this.uploads.get(frame.id)?.end();
      this.uploads.delete(frame.id);
      return;
    }
    let message: Message;
    try {
      message = decodeMessage(frame);
    } catch (error) {
      // The client sent something unreadable: its fault, not the agent's (not `internal`).
      void this.reply(frame.id, new PyroError("protocol_error", (error as Error).message));
      return;
    }
    if (message.type === "hello") {
      this.greet(message.fields);
      return;
    }
    if (message.type === "abort") {
      this.abort(frame.id);
      return;
    }
    if (this.version === null) {
      void this.reply(
        frame.id,
        new PyroError("protocol_error", "the hello handshake must come first"),
      );
      return;
    }
    if (message.type !== "request" || typeof message.fields.op !== "string") {
      void this.reply(frame.id, new PyroError("protocol_error", "expected a request message"));
      return;
    }
    void this.handle(frame.id, message.fields.op, message.fields);
  }

  /** The client gave up on request `id`: fail its upload and signal its handler. */
  private abort(id: number): void {
    this.uploads.get(id)?.destroy(new PyroError("invalid_argument", "client aborted the upload"));
    this.uploads.delete(id);
    this.aborts.get(id)?.abort();
  }

  /** Picks the highest protocol version both sides speak, or refuses and hangs up. */
  private greet(hello: Record<string, unknown>): void {
    const { connection, options, range } = this;
    const theirs = helloRange(hello);
    const picked = theirs ? pickVersion(range, theirs) : null;
    if (picked === null) {
      void connection
        .sendJson(0, { type: "error", error: disjointError(range, theirs).toJSON() })
        .finally(() => connection.close());
      return;
    }
    this.version = picked;
    // The answer waits for a clock step to be applied: it reports the guest's time after it.
    void clockFields(hello, options.clock)
      .then((clock) =>
        connection.sendJson(0, {
          type: "hello",
          ...options.hello(),
          ...clock,
          protocol_version: picked,
          protocol_min: range.min,
          protocol_max: range.max,
        }),
      )
      .catch(() => undefined); // a connection closed meanwhile has no one to answer
  }

  /** Admits one request, runs its handler and replies with the result or the error. */
  private async handle(id: number, op: string, message: Record<string, unknown>): Promise<void> {
    let upload: PassThrough | null = null;
    if (message.upload === true) {
      upload = new PassThrough();
      this.uploads.set(id, upload);
    }
    const admitted = admit(this.options, op, message.body ?? {});
    if (!("run" in admitted)) {
      // Drain whatever the client still sends so its upload loop can finish.
      upload?.resume();
      this.uploads.delete(id);
      await this.reply(id, admitted.error);
      return;
    }
    const controller = new AbortController();
    this.aborts.set(id, controller);
    let streamed = false;
    try {
      const result = await admitted.run({
        upload,
        signal: controller.signal,
        sendData: async (chunk) => {
          streamed = true;
          await this.connection.sendData(id, chunk);
        },
      });
      if (streamed) await this.connection.sendDataEnd(id);
      await this.reply(id, result);
    } catch (error) {
      upload?.resume();
      await this.reply(id, asPyroError(error));
    } finally {
      this.aborts.delete(id);
      this.uploads.delete(id);
    }
  }

  /** Sends the response to request `id`; one too large for a frame becomes an error. */
  private async reply(id: number, result: Record<string, unknown> | PyroError): Promise<void> {
    const { connection } = this;
    if (connection.isClosed) return;
    const fields =
      result instanceof PyroError
        ? { ok: false, error: result.toJSON() }
        : { ok: true, body: result };
    // Before the hello (a request that came first) the client's version is unknown: 1 is
    // what every client reads.
    const speaking = this.version ?? 1;
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

/**
 * The checked body of a request, or why it must not reach its handler: an unknown op, a
 * body of the wrong shape (naming the op and the field), a failpoint (`op`: fails,
 * `op:stall`: never answers).
 */
function admit(
  options: ServerOptions,
  op: string,
  raw: unknown,
): { run: Run } | { error: PyroError } {
  const checked = options.handlers.admit(op, raw);
  if (!checked) {
    return {
      error: new PyroError("protocol_error", `unknown agent operation '${op}'`, { op }),
    };
  }
  if (!checked.ok) {
    const { field, message } = checked;
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
  // `op:stall` never answers: proves a caller does not wait on that op at all.
  if (options.failpoints?.has(`${op}:stall`)) return { run: () => new Promise(() => undefined) };
  return { run: checked.run };
}

/**
 * Applies a hello's clock fields and returns the answer's: the guest's time after any step,
 * and the probe echoed, so the supervisor can tell a fresh answer from one to a greeting
 * that waited in the channel, and measure the round trip.
 */
async function clockFields(
  hello: Record<string, unknown>,
  clock: ServerOptions["clock"],
): Promise<Record<string, unknown>> {
  const probe = hello.clock_probe_ms;
  if (typeof probe !== "number") {
    if (typeof hello.host_time_ms === "number") await clock?.sync(hello.host_time_ms);
    return {};
  }
  const step = hello.clock_step_ms;
  if (typeof step === "number" && Number.isFinite(step) && step !== 0) await clock?.step(step);
  return { clock_echo_ms: probe, guest_time_ms: Date.now() };
}
