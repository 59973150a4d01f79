/**
 * A minimal QMP client (QEMU's JSON machine protocol on a Unix socket): enough to save a
 * running guest to a file for a booted-guest template (templates.ts).
 */
import net from "node:net";

type Json = Record<string, unknown>;

export class Qmp {
  private buffer = "";
  private readonly waiting: Array<{ resolve: (value: Json) => void; reject: (e: Error) => void }> =
    [];
  private closed: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    const fail = (error?: Error): void => {
      this.closed ??= error ?? new Error("the QMP connection closed");
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.closed);
    };
    socket.on("error", fail);
    socket.on("close", () => fail());
  }

  /** Connects, reads the greeting and enters command mode. */
  static async connect(socketPath: string, timeoutMs = 5_000): Promise<Qmp> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const candidate = net.createConnection(socketPath);
      const timer = setTimeout(() => {
        candidate.destroy();
        reject(new Error(`timed out connecting to QMP socket ${socketPath}`));
      }, timeoutMs);
      candidate.once("connect", () => {
        clearTimeout(timer);
        candidate.removeAllListeners("error");
        resolve(candidate);
      });
      candidate.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const qmp = new Qmp(socket);
    qmp.greeting = qmp.next();
    await qmp.greeting;
    await qmp.execute("qmp_capabilities");
    return qmp;
  }

  private greeting: Promise<Json> | null = null;
  private readonly replies: Json[] = [];

  /** Runs one command; resolves with its `return`, rejects with its `error`. */
  async execute(command: string, args?: Json): Promise<unknown> {
    if (this.closed) throw this.closed;
    this.socket.write(
      `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
    );
    for (;;) {
      const message = await this.next();
      // Asynchronous events (STOP, MIGRATION, ...) interleave with replies: skip them.
      if ("event" in message) continue;
      if ("error" in message) {
        const error = message.error as { desc?: string } | undefined;
        throw new Error(`QMP ${command}: ${error?.desc ?? JSON.stringify(message.error)}`);
      }
      return message.return;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private next(): Promise<Json> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (!line) continue;
      let message: Json;
      try {
        message = JSON.parse(line) as Json;
      } catch {
        continue;
      }
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(message);
      else this.replies.push(message);
    }
  }
}
