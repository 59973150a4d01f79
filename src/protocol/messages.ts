/**
 * The messages of the protocol on top of frames, in either protocol version: version 2
 * gives requests, responses and aborts frame kinds of their own, version 1 sends all of
 * them as JSON frames with a `type` field. Decoding accepts both, so only the sender
 * needs to know the negotiated version.
 */
import type { FramedConnection } from "./connection.js";
import { FrameError, FrameKind, parseJsonPayload, type Frame } from "./frames.js";

type MessageType = "hello" | "request" | "response" | "abort" | "error";

export interface Message {
  type: MessageType;
  /** The JSON payload without `type` (empty for an abort). */
  fields: Record<string, unknown>;
}

const KIND_OF: Partial<Record<MessageType, FrameKind>> = {
  request: FrameKind.Request,
  response: FrameKind.Response,
  abort: FrameKind.Abort,
};

const TYPE_OF: Partial<Record<FrameKind, MessageType>> = {
  [FrameKind.Request]: "request",
  [FrameKind.Response]: "response",
  [FrameKind.Abort]: "abort",
};

/** Sends one message on request `id` the way protocol `version` frames it. */
export function sendMessage(
  connection: FramedConnection,
  version: number,
  id: number,
  type: MessageType,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const kind = KIND_OF[type];
  if (version < 2 || kind === undefined) {
    return connection.sendJson(id, { type, ...fields });
  }
  if (type === "abort") return connection.sendFrame(kind, id, Buffer.alloc(0));
  return connection.sendJson(id, fields, kind);
}

/**
 * The message a non-data frame carries. Throws a FrameError for a frame whose payload
 * is not a JSON object, or a JSON frame without a known type.
 */
export function decodeMessage(frame: Frame): Message {
  const typed = TYPE_OF[frame.kind];
  if (typed === "abort") return { type: "abort", fields: {} };
  const fields = parseJsonPayload(frame.payload);
  if (typed) return { type: typed, fields };
  const { type, ...rest } = fields;
  if (
    type !== "hello" &&
    type !== "request" &&
    type !== "response" &&
    type !== "abort" &&
    type !== "error"
  ) {
    throw new FrameError(`unknown message type ${JSON.stringify(type)}`);
  }
  return { type, fields: rest };
}
