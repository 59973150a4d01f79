import type net from "node:net";
import type { Readable } from "node:stream";

import { PyroError, errorFromWire } from "../errors.js";
import { fastAccepts } from "../shared/fast-check.js";
import { FramedConnection } from "./connection.js";
import { FrameError, FrameKind, MAX_FRAME_BYTES, type Frame } from "./frames.js";
import { decodeMessage, sendMessage } from "./messages.js";
import {
  OUR_RANGE,
  formatRange,
  helloFields,
  helloRange,
  incompatibleAgent,
  wireMessage,
} from "./negotiate.js";
import {
  checkResponse,
  type AgentOp,
  type AgentRequest,
  type AgentResponse,
} from "./operations.js";
import { openAgentSocket } from "./agent-socket.js";
import { parseHello, type AgentHello } from "./agent-hello.js";

export interface RequestOptions {
  /** Bytes streamed to the agent after the request (e.g. a tar archive). */
  upload?: Readable;
  /**
   * Give up (and fail the call) when no response arrived this long after sending; the agent
   * may be wedged. Unset: wait as long as the connection lives.
   */
  timeoutMs?: number;
  /** Receives binary chunks the agent streams back before its response. */
  onData?: (chunk: Buffer) => void | Promise<void>;
  /**
   * Cancels the request: the agent is sent an abort for it (it stops the handler, e.g.
   * kills a command) and the call still resolves with the agent's answer, which says what
   * was stopped. An agent that does not answer within ABORT_ANSWER_MS fails the call.
   */
  signal?: AbortSignal;
}

/** How long an aborted request waits for the agent's final answer. */
const ABORT_ANSWER_MS = 15_000;

interface Pending {
  resolve: (body: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  onData?: (chunk: Buffer) => void | Promise<void>;
  /** Serialises async onData handlers so chunks land in order. */
  dataChain: Promise<void>;
}

/**
 * Client side of the agent protocol. One client multiplexes any number of concurrent
 * requests over one connection; several processes may each hold their own client to the
 * same agent at the same time.
 */
export function isConnectionLost(error: unknown): boolean {
  return error instanceof PyroError && error.details.connection_lost === true;
}

export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private helloWaiter?: { resolve: (hello: AgentHello) => void; reject: (error: Error) => void };
  private readonly connection: FramedConnection;
  private closeError?: Error;
  private ended = false;
  /** Negotiated in the hello; requests are framed the way this version says. */
  private version = OUR_RANGE.min;

  private constructor(private readonly socket: net.Socket) {
    this.connection = new FramedConnection(
      socket,
      (frame) => this.onFrame(frame),
      (error) => this.onClose(error),
    );
  }

  static async connect(
    socketPath: string,
    timeoutMs = 10_000,
  ): Promise<{ client: AgentClient; hello: AgentHello }> {
    const socket = await openAgentSocket(socketPath, timeoutMs);
    const client = new AgentClient(socket);
    const hello = await client.handshake(timeoutMs);
    socket.unref();
    return { client, hello };
  }

  /**
   * Runs agent operation `op`; the answer is checked against the op's response schema, by
   * its generated JSON schema first (src/shared/fast-check.ts: an answer zod would return
   * unchanged, without loading zod), by zod when that does not accept it.
   */
  async call<Op extends AgentOp>(
    op: Op,
    body: AgentRequest<Op>,
    options: RequestOptions = {},
  ): Promise<AgentResponse<Op>> {
    const raw = await this.requestRaw(op, body, options);
    if (fastAccepts(`agent:${op}`, raw)) return raw as AgentResponse<Op>;
    const checked = checkResponse(op, raw);
    if (checked.ok) return checked.value;
    const { field, message } = checked.problem;
    throw new PyroError(
      "protocol_error",
      `the agent's answer to '${op}' does not match the protocol: ${field}: ${message}`,
      { op, field },
    );
  }

  /**
   * A request whose answer is not checked: for tests of the agent's own checks (unknown
   * ops, malformed bodies). Everything else goes through call().
   */
  async requestRaw(
    op: string,
    body: object,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    if (this.connection.isClosed) throw this.connectionLost();
    const id = this.nextId++;
    const result = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.pending.set(id, {
        resolve,
        reject,
        onData: options.onData,
        dataChain: Promise.resolve(),
      });
    });
    if (options.timeoutMs !== undefined) this.armTimeout(id, op, options.timeoutMs, result);
    this.holdSocketWhile(result);
    await this.sendRequest(id, op, body, options.upload !== undefined);
    // Armed once the request is on the wire, so the abort follows it.
    if (options.signal) this.armAbort(id, op, options.signal, result);
    if (options.upload) await this.sendUpload(id, options.upload);
    return result;
  }

  /** Fails request `id` when no answer came within `timeoutMs`: the agent may be wedged. */
  private armTimeout(id: number, op: string, timeoutMs: number, result: Promise<unknown>): void {
    const timer = setTimeout(() => {
      // Not the backend's fault: the sandbox is overloaded or hung (a fork bomb in a
      // guest without limits did this), and a reset reboots it.
      this.giveUp(
        id,
        new PyroError(
          "agent_error",
          `the sandbox agent did not answer '${op}' within ${Math.round(timeoutMs / 1000)} s: the sandbox is overloaded or hung; a reset reboots it`,
          { op, timeout_ms: timeoutMs },
        ),
      );
    }, timeoutMs);
    void result.finally(() => clearTimeout(timer)).catch(() => undefined);
  }

  /**
   * Sends the agent an abort for request `id` when `signal` fires; the call then waits
   * ABORT_ANSWER_MS for the agent's final answer before failing as cancelled.
   */
  private armAbort(id: number, op: string, signal: AbortSignal, result: Promise<unknown>): void {
    const onAbort = (): void => {
      if (!this.pending.has(id)) return;
      void sendMessage(this.connection, this.version, id, "abort").catch(() => undefined);
      const timer = setTimeout(() => {
        this.giveUp(
          id,
          new PyroError("cancelled", `'${op}' was cancelled and the agent did not confirm it`, {
            op,
          }),
        );
      }, ABORT_ANSWER_MS);
      void result.finally(() => clearTimeout(timer)).catch(() => undefined);
    };
    void result.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => undefined);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }

  /** Fails request `id` (if still pending) once the data already received was handled. */
  private giveUp(id: number, error: PyroError): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    failAfterData(pending, error);
  }

  /** An idle cached connection must not keep a CLI process alive; a busy one must. */
  private holdSocketWhile(result: Promise<unknown>): void {
    this.socket.ref();
    void result
      .finally(() => {
        if (this.pending.size === 0) this.socket.unref();
      })
      .catch(() => undefined);
  }

  private async sendRequest(id: number, op: string, body: object, upload: boolean): Promise<void> {
    try {
      await sendMessage(this.connection, this.version, id, "request", { op, body, upload });
    } catch (error) {
      // Too large for a frame is the request's fault; any other write failure is a dead
      // connection (the agent exited), which the pool retries on a fresh one.
      const failure =
        error instanceof FrameError
          ? new PyroError(
              "limit_exceeded",
              `request '${op}' could not be sent: ${error.message}`,
              { op, limit: "frame_bytes", max: MAX_FRAME_BYTES },
              { cause: error },
            )
          : this.connectionLost(error instanceof Error ? error : undefined);
      this.pending.get(id)?.reject(failure);
      this.pending.delete(id);
      throw failure;
    }
  }

  /** Streams `upload` after request `id`; on a failure, tells the agent to give up on it. */
  private async sendUpload(id: number, upload: Readable): Promise<void> {
    try {
      for await (const chunk of upload) {
        await this.connection.sendData(id, toBuffer(chunk));
      }
      await this.connection.sendDataEnd(id);
    } catch (error) {
      // The agent is still waiting for the end of the upload: tell it to give up.
      await sendMessage(this.connection, this.version, id, "abort").catch(() => undefined);
      throw error;
    }
  }

  close(): void {
    this.connection.close();
  }

  /** The connection has ended (either side closed it, or it failed). */
  get closed(): boolean {
    return this.ended;
  }

  private handshake(timeoutMs: number): Promise<AgentHello> {
    return new Promise<AgentHello>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new PyroError("protocol_error", "agent did not answer the protocol handshake in time"),
        );
        this.close();
      }, timeoutMs);
      this.helloWaiter = {
        resolve: (hello) => {
          clearTimeout(timer);
          resolve(hello);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.connection
        .sendJson(0, { type: "hello", ...helloFields(OUR_RANGE) })
        .catch((error: Error) => {
          this.helloWaiter?.reject(error);
        });
    });
  }

  private onFrame(frame: Frame): void {
    if (frame.id === 0 && frame.kind === FrameKind.Json) {
      this.onHello(frame);
      return;
    }
    const pending = this.pending.get(frame.id);
    if (!pending) return; // a late frame for a request we already gave up on
    if (frame.kind === FrameKind.Data) {
      const handler = pending.onData;
      if (handler) {
        const chunk = frame.payload;
        pending.dataChain = pending.dataChain.then(() => handler(chunk));
        // Settled below (response) or by failAfterData (lost, timed out); never unhandled.
        pending.dataChain.catch(() => undefined);
      }
      return;
    }
    if (frame.kind === FrameKind.DataEnd) return;
    let message: Record<string, unknown>;
    try {
      const decoded = decodeMessage(frame);
      if (decoded.type !== "response") throw new Error(`unexpected ${decoded.type} message`);
      message = decoded.fields;
    } catch (error) {
      this.pending.delete(frame.id);
      pending.reject(new PyroError("protocol_error", errorMessage(error), {}, { cause: error }));
      return;
    }
    this.pending.delete(frame.id);
    // Deliver the response only after every data chunk has been consumed.
    pending.dataChain.then(
      () => {
        if (message.ok === true) {
          pending.resolve(isObject(message.body) ? message.body : {});
        } else {
          pending.reject(errorFromWire(message.error));
        }
      },
      (error: Error) => pending.reject(error),
    );
  }

  private onHello(frame: Frame): void {
    const waiter = this.helloWaiter;
    if (!waiter) return;
    this.helloWaiter = undefined;
    try {
      const { type, fields } = decodeMessage(frame);
      if (type === "error") {
        const refused = errorFromWire(fields.error);
        // An agent that shares no version with us says so; tell the user what fixes it.
        waiter.reject(
          refused.code === "protocol_error"
            ? incompatibleAgent(`it refused the handshake: ${wireMessage(fields.error)}`)
            : refused,
        );
        this.close();
        return;
      }
      const chosen = fields.protocol_version;
      if (
        type !== "hello" ||
        typeof chosen !== "number" ||
        chosen < OUR_RANGE.min ||
        chosen > OUR_RANGE.max
      ) {
        waiter.reject(incompatibleAgent(`it speaks ${formatRange(helloRange(fields))}`));
        this.close();
        return;
      }
      this.version = chosen;
      waiter.resolve(parseHello(fields, chosen));
    } catch (error) {
      waiter.reject(new PyroError("protocol_error", errorMessage(error), {}, { cause: error }));
    }
  }

  private connectionLost(cause: Error | undefined = this.closeError): PyroError {
    const reason = cause ? `: ${cause.message}` : "";
    return new PyroError(
      "backend_error",
      `connection to the sandbox agent was lost${reason}`,
      { connection_lost: true, reason: "connection_lost" },
      { cause },
    );
  }

  private onClose(error?: Error): void {
    this.ended = true;
    this.closeError = error;
    const lost = this.connectionLost();
    this.helloWaiter?.reject(lost);
    this.helloWaiter = undefined;
    for (const pending of this.pending.values()) failAfterData(pending, lost);
    this.pending.clear();
  }
}

/**
 * Rejects a request that will get no response, once the data already received has been
 * handed over: a caller that writes chunks to a file closes it when the request fails, and
 * a chunk written after that would fail with nobody to hear it (the process crashed).
 */
function failAfterData(pending: Pending, error: Error): void {
  const fail = (): void => pending.reject(error);
  pending.dataChain.then(fail, fail);
}

/** An upload chunk as bytes (a Readable in object or string mode yields strings). */
function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  return chunk instanceof Uint8Array ? Buffer.from(chunk) : Buffer.from(String(chunk));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
