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
  options: { detachKeys: Uint8Array | null; cursor: number; skipLine?: boolean },
): Promise<SessionEnd> {
  return new Promise<SessionEnd>((resolve, reject) => {
    const stdin = process.stdin;
    const stdout = process.stdout;
    const matcher = new DetachKeyMatcher(options.detachKeys);
    const decoder = new StringDecoder("utf8");
    let done = false;
    let pendingInput = "";
    let writing = false;
    let resizing = false;
    let resizeWanted = false;

    const finish = (end: SessionEnd | Error): void => {
      if (done) return;
      done = true;
      stdin.removeListener("data", onInput);
      stdout.removeListener("resize", onResize);
      for (const signal of ENDING_SIGNALS) process.removeListener(signal, onSignal);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      if (end instanceof Error) reject(end);
      else resolve(end);
    };

    // Writes go one at a time: requests run concurrently in the agent, so two in flight
    // could type their keys in the wrong order. Keys typed meanwhile are sent together.
    const flush = async (): Promise<void> => {
      if (writing) return;
      writing = true;
      try {
        while (pendingInput !== "" && !done) {
          const chunk = pendingInput.slice(0, WRITE_CHARS);
          pendingInput = pendingInput.slice(chunk.length);
          await target.write(chunk);
        }
      } catch (error) {
        // A shell that exited is reported by the reader, with its exit code.
        if (!isExited(error)) finish(error as Error);
      } finally {
        writing = false;
      }
    };

    const onInput = (chunk: Buffer): void => {
      const { forward, detach } = matcher.feed(chunk);
      if (forward.length > 0) pendingInput += decoder.write(forward);
      void flush();
      if (detach) finish({ kind: "detached" });
    };

    // The latest size wins: a window dragged across the screen sends one resize at a time.
    const onResize = async (): Promise<void> => {
      resizeWanted = true;
      if (resizing) return;
      resizing = true;
      try {
        while (resizeWanted && !done) {
          resizeWanted = false;
          const { cols, rows } = terminalSize();
          await target.resize(cols, rows);
        }
      } catch (error) {
        if (isOldAgent(error)) warnNoResize();
        else if (!isExited(error)) finish(error as Error);
      } finally {
        resizing = false;
      }
    };

    const onSignal = (signal: NodeJS.Signals): void => finish({ kind: "signal", signal });

    const readLoop = async (): Promise<void> => {
      let cursor = options.cursor;
      let skipLine = options.skipLine === true;
      let oldAgent = false;
      while (!done) {
        const started = Date.now();
        const result = await target.read(cursor, READ_WAIT_SECONDS);
        if (done) return;
        let output = result.output;
        if (skipLine && output !== "") {
          // The replay starts mid-line: show it from the next line (all of it if it has none).
          const newline = output.indexOf("\n");
          if (newline >= 0) output = output.slice(newline + 1);
          skipLine = false;
        }
        // A slow terminal holds the next read back instead of piling output up in memory.
        if (output !== "" && !stdout.write(output)) {
          await new Promise((resolve) => stdout.once("drain", resolve));
        }
        cursor = result.next_cursor;
        if (result.state === "exited" && cursor >= result.buffer_end) {
          finish({ kind: "exited", exitCode: result.exit_code ?? 0 });
          return;
        }
        // A read that came back empty at once is from an agent that cannot wait.
        if (result.output === "" && Date.now() - started < 1000) oldAgent = true;
        if (oldAgent && result.output === "") await sleep(OLD_AGENT_POLL_MS);
      }
    };

    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on("data", onInput);
    stdin.resume();
    stdout.on("resize", onResize);
    for (const signal of ENDING_SIGNALS) process.on(signal, onSignal);
    readLoop().catch((error: unknown) => finish(error as Error));
  });
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
