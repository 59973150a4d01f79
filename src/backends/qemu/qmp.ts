/**
 * The one QMP client (QEMU's JSON machine protocol on a Unix socket). Used to save a running
 * guest to a file (a booted-guest template, templates.ts; an idle suspend, idle-suspend.ts),
 * to ask which layer a volume drive writes (`driveFile`) and, through
 * `humanMonitorCommands`, to add and remove published ports with `hostfwd_add` /
 * `hostfwd_remove`, which QMP offers as human monitor commands (runtime/qmp.sock, present
 * under network_policy egress+published-ports).
 */
import type net from "node:net";

import { PyroError } from "../../errors.js";
import { connectUnixSocket } from "../../protocol/socket-address.js";

type Json = Record<string, unknown>;

const QMP_TIMEOUT_MS = 10_000;

export class Qmp {
  private buffer = "";
  private readonly waiting: Array<{ resolve: (value: Json) => void; reject: (e: Error) => void }> =
    [];
  private readonly replies: Json[] = [];
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

  /**
   * Connects (a path too long for sun_path is reached through its directory), reads the
   * greeting and enters command mode.
   */
  static async connect(socketPath: string, timeoutMs = 5_000): Promise<Qmp> {
    const socket = await connectUnixSocket(socketPath, timeoutMs, {
      onTimeout: () => new Error(`timed out connecting to QMP socket ${socketPath}`),
      onError: (error) => error,
    });
    const qmp = new Qmp(socket);
    try {
      const greeting = await qmp.next();
      if (!("QMP" in greeting)) throw new Error(`not a QMP greeting: ${JSON.stringify(greeting)}`);
      await qmp.execute("qmp_capabilities");
    } catch (error) {
      qmp.close();
      throw error;
    }
    return qmp;
  }

  /**
   * Connects to the QMP socket of a qemu that is starting: it creates the socket as it
   * starts, so a missing one is retried until `timeoutMs` has passed.
   */
  static async connectWhenUp(socketPath: string, timeoutMs: number): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await Qmp.connect(socketPath);
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`qemu's QMP socket: ${(error as Error).message}`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

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
        this.socket.destroy(new Error(`QMP sent something not JSON: ${line.slice(0, 200)}`));
        return;
      }
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(message);
      else this.replies.push(message);
    }
  }
}

/**
 * The file of the top layer qemu writes drive `device` to now, or null (no such drive).
 * After a snapshot of the drive (blockdev-snapshot-sync) qemu describes the chain it built as
 * `json:{…, "file": {"filename": TOP}}`: the top's own file is taken from it, and its header
 * names its backing, so opening TOP alone gives the same chain.
 */
export async function driveFile(qmp: Qmp, device: string): Promise<string | null> {
  const devices = (await qmp.execute("query-block")) as Array<{
    device?: string;
    inserted?: { file?: string };
  }>;
  const file = devices.find((each) => each.device === device)?.inserted?.file;
  return file === undefined ? null : topLayerFile(file);
}

/** The top layer's own file from query-block's `file` (see driveFile). */
export function topLayerFile(file: string): string {
  if (!file.startsWith("json:")) return file;
  try {
    const parsed = JSON.parse(file.slice("json:".length)) as { file?: { filename?: unknown } };
    return typeof parsed.file?.filename === "string" ? parsed.file.filename : file;
  } catch {
    return file;
  }
}

/** Runs human monitor commands in order; returns each one's output (empty on success). */
export async function humanMonitorCommands(
  socketPath: string,
  commands: string[],
): Promise<string[]> {
  let qmp: Qmp | null = null;
  let timer: NodeJS.Timeout | undefined;
  const session = async (): Promise<string[]> => {
    qmp = await Qmp.connect(socketPath, QMP_TIMEOUT_MS);
    const outputs: string[] = [];
    for (const command of commands) {
      const output = await qmp.execute("human-monitor-command", { "command-line": command });
      outputs.push(typeof output === "string" ? output : "");
    }
    return outputs;
  };
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer within 10 s")), QMP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([session(), deadline]);
  } catch (error) {
    throw new PyroError(
      "backend_error",
      `qemu monitor: ${error instanceof Error ? error.message : String(error)}`,
      { socket: socketPath },
    );
  } finally {
    clearTimeout(timer);
    (qmp as Qmp | null)?.close();
  }
}
