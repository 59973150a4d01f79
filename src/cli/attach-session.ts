/**
 * An interactive terminal on a shell that lives in a sandbox's agent (`pyro workspace
 * attach`, `pyro run -it`). The local terminal goes into raw mode, so every key, Ctrl-C
 * included, is typed into the remote PTY, whose line discipline turns it into a signal for
 * the job in its foreground; pyro itself only watches for the detach keys. Output arrives
 * through long-polling reads (`wait_seconds`): each read returns as soon as the shell
 * prints, so nothing busy-polls. Window-size changes (SIGWINCH) become resizes of the PTY.
 *
 * Everything goes through the agent's ordinary shell operations, so it works the same on
 * every backend, and the shell outlives the session: another terminal can attach later.
 */
import { StringDecoder } from "node:string_decoder";

import { ValidationError } from "../errors.js";
import { DetachKeyMatcher } from "./attach-keys.js";

/** The shell operations a session needs, bound to one shell. */
export interface TerminalTarget {
  read(cursor: number, waitSeconds: number, maxChars?: number): Promise<TerminalRead>;
  write(input: string): Promise<unknown>;
  resize(cols: number, rows: number): Promise<unknown>;
}

interface TerminalRead {
  output: string;
  cursor: number;
  next_cursor: number;
  state: "running" | "exited";
  exit_code: number | null;
  buffer_start: number;
  buffer_end: number;
}

export type SessionEnd =
  | { kind: "exited"; exitCode: number }
  | { kind: "detached" }
  | { kind: "signal"; signal: NodeJS.Signals };

/** How long one read waits for output before asking again (under the agent's 30 s cap). */
const READ_WAIT_SECONDS = 25;
/** Most characters one write carries (the agent's input limit is 64 Ki). */
const WRITE_CHARS = 32 * 1024;
/** What a reattach shows of the shell's earlier output: about a screenful or two. */
const REPLAY_CHARS = 8 * 1024;
/** An agent from before wait_seconds answers at once: poll it at this pace instead. */
const OLD_AGENT_POLL_MS = 50;

/** `-it` and attach need a terminal: say so before anything is created. */
export function requireTerminal(what: string): { cols: number; rows: number } {
  if (!process.stdin.isTTY) {
    throw new ValidationError(
      `${what} needs an interactive terminal, but stdin is not a TTY; run it from a terminal (for a command without one, leave out -it)`,
      { field: "stdin", value: "not a TTY" },
    );
  }
  return terminalSize();
}

function terminalSize(): { cols: number; rows: number } {
  const stream = process.stdout.isTTY
    ? process.stdout
    : process.stderr.isTTY
      ? process.stderr
      : null;
  return { cols: stream?.columns || 120, rows: stream?.rows || 30 };
}

/**
 * Where a session should start reading: from the beginning for a new shell, else from the
 * last REPLAY_CHARS of the output, starting at a line, so a reattached terminal shows the
 * recent screen instead of nothing (or the whole history).
 */
export async function replayCursor(
  target: TerminalTarget,
): Promise<{ cursor: number; skipLine: boolean }> {
  const probe = await target.read(0, 0, 1);
  const from = Math.max(probe.buffer_start, probe.buffer_end - REPLAY_CHARS);
  return { cursor: from, skipLine: from > 0 };
}

/**
 * Runs the session until the shell exits, the user types the detach keys, or pyro gets
 * SIGTERM/SIGHUP (then the terminal is restored and the caller decides what to do).
 */
export function runTerminalSession(
  target: TerminalTarget,
  options: SessionOptions,
): Promise<SessionEnd> {
  return new Promise<SessionEnd>((resolve, reject) => {
    new TerminalSession(target, options, (end) =>
      end instanceof Error ? reject(end) : resolve(end),
    ).start();
  });
}

interface SessionOptions {
  detachKeys: Uint8Array | null;
  cursor: number;
  skipLine?: boolean;
}

/** One attached terminal: keys in, output out, resizes across, until it ends once. */
class TerminalSession {
  private readonly stdin = process.stdin;
  private readonly stdout = process.stdout;
  private readonly matcher: DetachKeyMatcher;
  private readonly decoder = new StringDecoder("utf8");
  private done = false;
  private pendingInput = "";
  private writing = false;
  private resizing = false;
  private resizeWanted = false;

  constructor(
    private readonly target: TerminalTarget,
    private readonly options: SessionOptions,
    private readonly settle: (end: SessionEnd | Error) => void,
  ) {
    this.matcher = new DetachKeyMatcher(options.detachKeys);
  }

  start(): void {
    if (this.stdin.isTTY) this.stdin.setRawMode(true);
    this.stdin.on("data", this.onInput);
    this.stdin.resume();
    this.stdout.on("resize", this.onResize);
    for (const signal of ENDING_SIGNALS) process.on(signal, this.onSignal);
    this.readLoop().catch((error: unknown) => this.finish(error as Error));
  }

  private finish(end: SessionEnd | Error): void {
    if (this.done) return;
    this.done = true;
    this.stdin.removeListener("data", this.onInput);
    this.stdout.removeListener("resize", this.onResize);
    for (const signal of ENDING_SIGNALS) process.removeListener(signal, this.onSignal);
    if (this.stdin.isTTY) this.stdin.setRawMode(false);
    this.stdin.pause();
    this.settle(end);
  }

  private readonly onSignal = (signal: NodeJS.Signals): void =>
    this.finish({ kind: "signal", signal });

  private readonly onInput = (chunk: Buffer): void => {
    const { forward, detach } = this.matcher.feed(chunk);
    if (forward.length > 0) this.pendingInput += this.decoder.write(forward);
    void this.flush();
    if (detach) this.finish({ kind: "detached" });
  };

  /**
   * Writes go one at a time: requests run concurrently in the agent, so two in flight
   * could type their keys in the wrong order. Keys typed meanwhile are sent together.
   */
  private async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pendingInput !== "" && !this.done) {
        const chunk = this.pendingInput.slice(0, WRITE_CHARS);
        this.pendingInput = this.pendingInput.slice(chunk.length);
        await this.target.write(chunk);
      }
    } catch (error) {
      // A shell that exited is reported by the reader, with its exit code.
      if (!isExited(error)) this.finish(error as Error);
    } finally {
      this.writing = false;
    }
  }

  /** The latest size wins: a window dragged across the screen sends one resize at a time. */
  private readonly onResize = async (): Promise<void> => {
    this.resizeWanted = true;
    if (this.resizing) return;
    this.resizing = true;
    try {
      while (this.resizeWanted && !this.done) {
        this.resizeWanted = false;
        const { cols, rows } = terminalSize();
        await this.target.resize(cols, rows);
      }
    } catch (error) {
      if (isOldAgent(error)) warnNoResize();
      else if (!isExited(error)) this.finish(error as Error);
    } finally {
      this.resizing = false;
    }
  };

  private async readLoop(): Promise<void> {
    let cursor = this.options.cursor;
    let skipLine = this.options.skipLine === true;
    let oldAgent = false;
    while (!this.done) {
      const started = Date.now();
      const result = await this.target.read(cursor, READ_WAIT_SECONDS);
      if (this.done) return;
      let output = result.output;
      if (skipLine && output !== "") {
        // The replay starts mid-line: show it from the next line (all of it if it has none).
        const newline = output.indexOf("\n");
        if (newline >= 0) output = output.slice(newline + 1);
        skipLine = false;
      }
      // A slow terminal holds the next read back instead of piling output up in memory.
      if (output !== "" && !this.stdout.write(output)) {
        await new Promise((resolve) => this.stdout.once("drain", resolve));
      }
      cursor = result.next_cursor;
      if (result.state === "exited" && cursor >= result.buffer_end) {
        this.finish({ kind: "exited", exitCode: result.exit_code ?? 0 });
        return;
      }
      // A read that came back empty at once is from an agent that cannot wait.
      if (result.output === "" && Date.now() - started < 1000) oldAgent = true;
      if (oldAgent && result.output === "") await sleep(OLD_AGENT_POLL_MS);
    }
  }
}

/** Signals that end a session (Ctrl-C does not send one: raw mode types it into the PTY). */
const ENDING_SIGNALS: NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGINT"];

/**
 * Resizes a terminal; a sandbox whose agent predates shell.resize (started by an older
 * pyro) keeps working at its old size, with a warning instead of a failed session.
 */
export async function resizeTerminal(target: TerminalTarget, cols: number, rows: number) {
  try {
    await target.resize(cols, rows);
  } catch (error) {
    if (!isOldAgent(error)) throw error;
    warnNoResize();
  }
}

let warnedNoResize = false;

function warnNoResize(): void {
  if (warnedNoResize) return;
  warnedNoResize = true;
  process.stderr.write(
    "pyro: this sandbox's agent cannot resize terminals (it was started by an older pyro; a reset updates it)\r\n",
  );
}

function isOldAgent(error: unknown): boolean {
  const failure = error as { code?: unknown; details?: { op?: unknown } } | null;
  return failure?.code === "protocol_error" && failure.details?.op === "shell.resize";
}

function isExited(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "invalid_state";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
