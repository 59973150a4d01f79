/**
 * MCP over stdio, one JSON-RPC message per line, replacing the SDK's StdioServerTransport:
 * that one closes the whole transport (the server stops answering, for good) when more than
 * 10 MiB arrive without a newline, and drops messages its schema refuses without a word.
 * Here a line over the limit is discarded as it streams in (never buffered whole) and
 * answered with an error, every other line goes through the gate (jsonrpc-gate.ts), and the
 * server keeps serving.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

import {
  INVALID_REQUEST,
  MAX_MESSAGE_BYTES,
  errorAnswer,
  gateText,
  recoverId,
  type ErrorAnswer,
} from "./jsonrpc-gate.js";

/** Bytes kept from each end of a discarded line, to find its id. */
const KEEP = 512;
const NEWLINE = 0x0a;

export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private parts: Buffer[] = [];
  private size = 0;
  /** Set while the current line is over the limit: only its ends are kept. */
  private oversize: { head: Buffer; tail: Buffer } | null = null;
  private started = false;

  constructor(
    private readonly stdin: NodeJS.ReadableStream = process.stdin,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
    /** Where refused messages are reported (stderr for `pyro mcp serve`). */
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  private closed = false;

  async start(): Promise<void> {
    if (this.started) throw new Error("LineStdioTransport already started");
    this.started = true;
    this.stdin.on("data", this.onData);
    this.stdin.on("error", this.onStreamError);
    // The client closed our stdin (it exited or hung up): calls in flight are cancelled.
    this.stdin.once("end", this.onEnd);
  }

  private readonly onEnd = () => void this.close();

  private readonly onStreamError = (error: Error) => this.onerror?.(error);

  private readonly onData = (chunk: Buffer | string) => {
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start < data.length) {
      const newline = data.indexOf(NEWLINE, start);
      this.take(data.subarray(start, newline === -1 ? data.length : newline));
      if (newline === -1) break;
      this.endLine();
      start = newline + 1;
    }
  };

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    this.size += piece.length;
    if (this.oversize) {
      this.oversize.tail = Buffer.concat([this.oversize.tail, piece]).subarray(-KEEP);
      return;
    }
    if (this.size <= this.maxBytes) {
      this.parts.push(piece);
      return;
    }
    const sofar = Buffer.concat([...this.parts, piece]);
    this.oversize = { head: sofar.subarray(0, KEEP), tail: sofar.subarray(-KEEP) };
    this.parts = [];
  }

  private endLine(): void {
    const { oversize, size } = this;
    const line = oversize ? "" : Buffer.concat(this.parts).toString("utf8");
    this.parts = [];
    this.size = 0;
    this.oversize = null;
    if (oversize) {
      const id = recoverId(oversize.head.toString("utf8"), oversize.tail.toString("utf8"));
      const reason = `Invalid Request: a message of ${size} bytes is over the limit of ${this.maxBytes} bytes (10 MiB) per message; it was discarded`;
      this.refuse(reason, errorAnswer(id, INVALID_REQUEST, reason));
      return;
    }
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (text.trim() === "") return;
    const gated = gateText(text);
    if (gated.ok) this.onmessage?.(gated.message);
    else this.refuse(gated.reason, gated.answer);
  }

  private refuse(reason: string, answer: ErrorAnswer | null): void {
    this.log(`pyro mcp: refused a message: ${reason}`);
    if (answer) this.send(answer as JSONRPCMessage).catch((error: Error) => this.onerror?.(error));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off("data", this.onData);
    this.stdin.off("error", this.onStreamError);
    this.stdin.off("end", this.onEnd);
    if (this.stdin.listenerCount("data") === 0) this.stdin.pause();
    this.parts = [];
    this.oversize = null;
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once("drain", resolve);
    });
  }
}
