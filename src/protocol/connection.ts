import type { Duplex } from "node:stream";

import {
  DATA_CHUNK_BYTES,
  FrameDecoder,
  FrameKind,
  encodeFrame,
  encodeJson,
  type Frame,
} from "./frames.js";

/**
 * A framed, bidirectional channel over any byte stream (Unix socket on the host, a
 * virtio-serial port in a guest). Writes respect backpressure so a multi-gigabyte tar
 * stream never piles up in memory; a malformed frame closes the channel, because after
 * a framing error nothing further on the stream can be trusted.
 */
export class FramedConnection {
  private readonly decoder = new FrameDecoder();
  private closed = false;

  constructor(
    private readonly stream: Duplex,
    onFrame: (frame: Frame) => void,
    onClose: (error?: Error) => void,
  ) {
    stream.on("data", (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (error) {
        this.fail(error as Error, onClose);
        return;
      }
      for (const frame of frames) onFrame(frame);
    });
    stream.on("error", (error) => this.fail(error, onClose));
    stream.on("close", () => this.fail(undefined, onClose));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Rejects with a FrameError (nothing sent) when the message exceeds the frame limit. */
  async sendJson(id: number, message: unknown, kind: FrameKind = FrameKind.Json): Promise<void> {
    await this.write(encodeJson(id, message, kind));
  }

  async sendData(id: number, data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length; offset += DATA_CHUNK_BYTES) {
      await this.write(
        encodeFrame(FrameKind.Data, id, data.subarray(offset, offset + DATA_CHUNK_BYTES)),
      );
    }
  }

  sendDataEnd(id: number): Promise<void> {
    return this.write(encodeFrame(FrameKind.DataEnd, id));
  }

  /** Sends a frame as is (a supervisor relaying between a client and a guest). */
  sendFrame(kind: FrameKind, id: number, payload: Buffer): Promise<void> {
    return this.write(encodeFrame(kind, id, payload));
  }

  /** True while the peer has not taken what was written: relays pause their source. */
  get congested(): boolean {
    return this.stream.writableNeedDrain;
  }

  /** Resolves once the stream drained (at once when it is not congested). */
  drained(): Promise<void> {
    if (!this.stream.writableNeedDrain || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off("drain", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.once("drain", done);
      this.stream.once("close", done);
    });
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    if (!this.closed) this.stream.resume();
  }

  close(): void {
    this.stream.end();
    this.stream.destroy();
  }

  private write(buffer: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error("connection is closed"));
    // The callback fires once the chunk has been handed to the kernel (or with an error if
    // the stream died), which bounds what we buffer to one frame per concurrent writer.
    return new Promise((resolve, reject) => {
      this.stream.write(buffer, (error) => (error ? reject(error) : resolve()));
    });
  }

  private fail(error: Error | undefined, onClose: (error?: Error) => void): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.destroy();
    onClose(error);
  }
}
