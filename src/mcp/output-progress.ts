import { StringDecoder } from "node:string_decoder";

import type { Progress } from "../operations/index.js";

/** At most one progress notification per this long while output flows. */
const OUTPUT_INTERVAL_MS = 1_000;
/**
 * A silent command still sends one this often, well under the usual client request
 * timeouts (60 s), so a client that resets its timeout on progress keeps waiting.
 */
const HEARTBEAT_MS = 10_000;
/** The message carries the latest output, cut to this many characters. */
const MESSAGE_CHARS = 300;

/**
 * MCP progress for a running command: the latest output line(s) as the message, sent when
 * output arrives (throttled) and as a heartbeat while nothing does. Holds only the last
 * MESSAGE_CHARS characters, however much the command writes.
 */
export class OutputProgress {
  private tail = "";
  private lastSent = 0;
  private pending: NodeJS.Timeout | null = null;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly started = Date.now();
  private readonly decoders = {
    stdout: new StringDecoder("utf8"),
    stderr: new StringDecoder("utf8"),
  };

  constructor(private readonly send: (progress: Progress) => void) {
    this.heartbeat = setInterval(() => this.flush(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  readonly onOutput = (stream: "stdout" | "stderr", chunk: Buffer): void => {
    this.tail = (this.tail + this.decoders[stream].write(chunk)).slice(-MESSAGE_CHARS * 2);
    const wait = this.lastSent + OUTPUT_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flush();
    else this.pending ??= setTimeout(() => this.flush(), wait);
  };

  stop(): void {
    clearInterval(this.heartbeat);
    if (this.pending) clearTimeout(this.pending);
    this.pending = null;
  }

  private flush(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = null;
    this.lastSent = Date.now();
    const seconds = Math.round((Date.now() - this.started) / 1000);
    const lines = this.tail.trimEnd().split("\n").slice(-2).join("\n").slice(-MESSAGE_CHARS);
    this.send({
      message: lines === "" ? `running for ${seconds} s` : `running for ${seconds} s: ${lines}`,
    });
  }
}
