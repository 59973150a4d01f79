/**
 * Wire format shared by the host and the guest agent.
 *
 *   u32 BE  length of everything after this field (kind + id + payload)
 *   u8      kind: 1 = JSON message (the hello; any message in protocol 1), 2 = binary data
 *           chunk, 3 = end of binary stream, 4 = request, 5 = response, 6 = abort
 *   u32 BE  request id (0 is reserved for the hello handshake)
 *   ...     payload (UTF-8 JSON for kinds 1, 4 and 5, raw bytes for kind 2, empty otherwise)
 *
 * The kind says what a frame is, so the VM supervisor's relay routes requests, responses
 * and aborts without parsing a JSON body (protocol 2). Protocol 1 sent every message as
 * kind 1 with its type inside the JSON; it is still spoken to agents that know nothing
 * newer (see negotiate.ts).
 *
 * Binary frames carry tar streams next to the JSON request/response they belong to, so a
 * large archive never has to be base64-encoded or held in one JSON document. Both sides
 * refuse frames above MAX_FRAME_BYTES before allocating anything for them.
 */

/**
 * Large enough for the biggest response we build (two 1 MiB output streams of control
 * characters, each escaped to six bytes per byte in JSON), small enough to bound memory.
 */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Data chunks are written at most this large, well under MAX_FRAME_BYTES. */
export const DATA_CHUNK_BYTES = 256 * 1024;

export const FrameKind = {
  Json: 1,
  Data: 2,
  DataEnd: 3,
  Request: 4,
  Response: 5,
  Abort: 6,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const HEADER_BYTES = 4 + 1 + 4;

export interface Frame {
  kind: FrameKind;
  id: number;
  payload: Buffer;
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

export function encodeFrame(
  kind: FrameKind,
  id: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  if (payload.length + 5 > MAX_FRAME_BYTES) {
    throw new FrameError(
      `frame of ${payload.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`,
    );
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(payload.length + 5, 0);
  header.writeUInt8(kind, 4);
  header.writeUInt32BE(id >>> 0, 5);
  return Buffer.concat([header, payload]);
}

export function encodeJson(id: number, message: unknown, kind: FrameKind = FrameKind.Json): Buffer {
  return encodeFrame(kind, id, Buffer.from(JSON.stringify(message), "utf8"));
}

/**
 * Incremental decoder: feed arbitrary chunks, get whole frames back. Keeps a list of
 * pending chunks instead of concatenating on every push, so a 1 MiB frame arriving in
 * 64 KiB pieces costs one copy, not sixteen.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length < 5 || length > MAX_FRAME_BYTES) {
        throw new FrameError(`invalid frame length ${length} (limit ${MAX_FRAME_BYTES})`);
      }
      if (this.buffered < 4 + length) break;
      const whole = this.take(4 + length);
      const kind = whole.readUInt8(4);
      if (!isFrameKind(kind)) throw new FrameError(`unknown frame kind ${kind}`);
      frames.push({ kind, id: whole.readUInt32BE(5), payload: whole.subarray(HEADER_BYTES) });
    }
    return frames;
  }

  private peek(count: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= count) return first.subarray(0, count);
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged.subarray(0, count);
  }

  private take(count: number): Buffer {
    const merged =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const taken = merged.subarray(0, count);
    const rest = merged.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return taken;
  }
}

function isFrameKind(kind: number): kind is FrameKind {
  return kind >= FrameKind.Json && kind <= FrameKind.Abort;
}

export function parseJsonPayload(payload: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new FrameError("frame payload is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FrameError("frame payload must be a JSON object");
  }
  return value as Record<string, unknown>;
}
