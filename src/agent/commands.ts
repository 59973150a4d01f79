import fs from "node:fs/promises";

import { ValidationError } from "../errors.js";
import { CommandEntry, CommandTable } from "./command-table.js";
import type { AgentParams, AgentReply } from "../protocol/operations.js";
import type { AgentContext } from "./context.js";
import { startCommand } from "./exec.js";

/** Longest a read or wait blocks in one request; callers loop for longer waits. */
const MAX_WAIT_MS = 10 * 60 * 1000;
/** How long command.kill waits for the killed command to be reaped before answering. */
const KILL_WAIT_MS = 5_000;

/**
 * The agent's `command.*` operations: commands that stream their output while they run,
 * are cancelled when their caller goes away (an abort frame or a closed connection), and
 * can be yielded to the background, then read, waited on, killed and listed from any
 * connection. See command-table.ts for who logs a command and when.
 */
export function registerCommandHandlers(context: AgentContext): void {
  const table = new CommandTable();
  const { handlers } = context;
  context.cleanups.push(async () => table.cancelAll());

  handlers.set("command.run", ({ body, signal, sendData }) =>
    runCommand(context, table, body, signal, sendData),
  );

  handlers.set("command.list", async () => ({
    commands: table.all().map((entry) => entry.describe()),
  }));

  handlers.set("command.wait", async ({ body, signal }) => {
    const entry = table.get(body.command_id);
    await Promise.race([entry.ended(waitMs(body.wait_ms)), aborted(signal)]);
    return entry.withOutput();
  });

  handlers.set("command.read", ({ body, signal }) =>
    readOutput(table.get(body.command_id), body, signal),
  );

  handlers.set("command.kill", async ({ body }) => {
    const entry = table.get(body.command_id);
    entry.exec?.cancel();
    await entry.ended(KILL_WAIT_MS);
    return entry.withOutput();
  });

  // Under the host's workspace lock: hand over a finished command for logging.
  handlers.set("command.claim", async ({ body }) => {
    const entry = table.get(body.command_id);
    if (entry.state !== "exited") {
      throw new ValidationError(`command '${entry.id}' is still running; it cannot be logged yet`);
    }
    const previous = entry.claim;
    if (previous === "none") entry.claim = "claimed";
    return {
      ...entry.withOutput(),
      claim_state: previous === "none" ? "fresh" : previous === "claimed" ? "stale" : "logged",
    };
  });

  handlers.set("command.ack", async ({ body }) => {
    const entry = table.get(body.command_id);
    entry.claim = "logged";
    entry.sequence = body.sequence;
    table.evict();
    return entry.describe();
  });
}

/**
 * `command.run`: starts the command (checked cwd, env, stdin, limits) unless a retried
 * request finds it already running, then runs it in the foreground for this request.
 */
async function runCommand(
  context: AgentContext,
  table: CommandTable,
  body: AgentParams<"command.run">,
  signal: AbortSignal,
  sendData: (chunk: Buffer) => Promise<void>,
): Promise<AgentReply<"command.run">> {
  const id = body.command_id;
  checkCommandId(id);
  // A retried request (the host's connection dropped) joins the command it started.
  let entry = table.find(id);
  if (!entry) {
    const { command } = body;
    if (command.trim() === "") throw new ValidationError("command must not be empty");
    const cwd = context.paths.resolve(body.cwd ?? "/workspace", "cwd");
    const stat = await fs.stat(cwd.local).catch(() => null);
    if (!stat?.isDirectory()) {
      throw new ValidationError(`cwd does not exist or is not a directory: '${cwd.guest}'`, {
        field: "cwd",
      });
    }
    const created = new CommandEntry(id, command, cwd.guest);
    table.add(created);
    const exec = startCommand({
      command,
      cwd: cwd.local,
      env: body.env,
      stdin: body.stdin,
      timeoutSeconds: body.timeout_seconds ?? 30,
      maxOutputBytes: body.max_output_bytes,
      onOutput: (stream, chunk) => created.output(stream, chunk),
    });
    created.exec = exec;
    exec.done.then(
      (result) => created.finish(result),
      (error: Error) =>
        created.finish({
          exit_code: 127,
          stdout: "",
          stderr: `pyro: the command could not be started: ${error.message}\n`,
          duration_ms: 0,
          timed_out: false,
          stdout_truncated: false,
          stderr_truncated: false,
          cancelled: false,
        }),
    );
    entry = created;
  }
  const answer = await runInForeground(entry, body, signal, sendData);
  // Lets the host skip listing when nothing else waits to be logged (one round trip less).
  const others = table
    .all()
    .filter((each) => each !== entry && each.state === "exited" && each.claim !== "logged");
  return { ...answer, others_unlogged: others.length };
}

/**
 * `command.read`: output past the two cursors; with `wait_ms`, blocks until there is
 * something new to read (or the command ended, or time is up, or the caller left).
 */
async function readOutput(
  entry: CommandEntry,
  body: AgentParams<"command.read">,
  signal: AbortSignal,
): Promise<AgentReply<"command.read">> {
  const outCursor = cursorField("stdout_cursor", body.stdout_cursor);
  const errCursor = cursorField("stderr_cursor", body.stderr_cursor);
  const maxChars = Math.max(1, Math.min(body.max_chars ?? 65536, 1 << 20));
  // Block until there is something new to read (or the command ended, or time is up).
  const deadline = Date.now() + waitMs(body.wait_ms);
  while (
    entry.state === "running" &&
    entry.stdout.end <= outCursor &&
    entry.stderr.end <= errCursor &&
    Date.now() < deadline &&
    !signal.aborted
  ) {
    await Promise.race([entry.changed(deadline - Date.now()), aborted(signal)]);
  }
  const out = entry.stdout.read(outCursor, maxChars);
  const err = entry.stderr.read(errCursor, maxChars);
  return {
    ...entry.describe(),
    stdout: out.output,
    stderr: err.output,
    stdout_cursor: out.cursor,
    stderr_cursor: err.cursor,
    next_stdout_cursor: out.next_cursor,
    next_stderr_cursor: err.next_cursor,
    stdout_dropped_chars: out.dropped_chars,
    stderr_dropped_chars: err.dropped_chars,
    truncated: out.truncated || err.truncated,
  };
}

/**
 * Runs `entry` for the request that started it (or joined it): streams its output when
 * asked, cancels it when the caller goes away, and answers when it ended, or, with
 * `wait_ms`, when that time is up: then it goes on in the background on purpose.
 */
async function runInForeground(
  entry: CommandEntry,
  body: AgentParams<"command.run">,
  signal: AbortSignal,
  sendData: (chunk: Buffer) => Promise<void>,
) {
  const onAbort = (): void => {
    if (!entry.background) entry.exec?.cancel();
  };
  if (signal.aborted) onAbort();
  signal.addEventListener("abort", onAbort, { once: true });
  let sending: Promise<void> = Promise.resolve();
  if (body.stream === true && !entry.background) {
    // One tag byte says which stream: 1 stdout, 2 stderr.
    entry.forward = (stream, chunk) => {
      sending = sendData(Buffer.concat([Buffer.from([stream]), chunk]));
      return sending;
    };
  }
  try {
    const limit = body.wait_ms;
    await entry.ended(limit === undefined ? undefined : Math.max(0, limit));
    if (entry.state === "running") entry.background = true;
  } finally {
    signal.removeEventListener("abort", onAbort);
    entry.forward = null;
    await sending.catch(() => undefined);
  }
  return entry.withOutput();
}

function waitMs(value = 0): number {
  return Math.max(0, Math.min(value, MAX_WAIT_MS));
}

function cursorField(field: string, value = 0): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${field} must be a non-negative integer, got ${value}`, { field });
  }
  return value;
}

function checkCommandId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id)) {
    throw new ValidationError(
      `command_id must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$, got '${id}'`,
      {
        field: "command_id",
      },
    );
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
