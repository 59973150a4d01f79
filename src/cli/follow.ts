/**
 * `--follow` on `workspace logs`, `service logs` and `shell read`: keep printing what comes
 * until the workspace stops, the service or the shell ends, or Ctrl-C (exit status 130).
 * Each loop calls the same catalogue operations as one read does, on one manager.
 */
import { asPyroError, ValidationError } from "../errors.js";
import {
  EXIT_CANCELLED,
  EXIT_USAGE,
  printError,
  runAction,
  withoutUndefined,
  type JsonOption,
} from "./output.js";

/** Calls a catalogue operation; resolves to null once Ctrl-C stopped the follow. */
export type FollowCall = <Result>(
  operation: string,
  input: Record<string, unknown>,
) => Promise<Result | null>;

/** Between polls of a log that has no blocking read (the command log, service logs). */
export const POLL_MS = 500;

/** Runs a follow loop; the loop returns the exit status (EXIT_CANCELLED after Ctrl-C). */
export async function runFollow(
  options: JsonOption,
  loop: (call: FollowCall, cancelled: AbortSignal) => Promise<number>,
): Promise<void> {
  if (options.json === true) {
    const message = "--follow prints output as it arrives and cannot be combined with --json";
    printError(new ValidationError(message, { field: "follow" }), true);
    process.exitCode = EXIT_USAGE;
    return;
  }
  // Ctrl-C or SIGTERM ends the follow (the followed service or shell keeps running).
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const stopped = new Promise<null>((resolve) =>
    controller.signal.addEventListener("abort", () => resolve(null), { once: true }),
  );
  try {
    await runAction<number>(
      options,
      async (manager) => {
        const { invokeOperation } = await import("../operations/index.js");
        const call: FollowCall = async <Result>(
          operation: string,
          input: Record<string, unknown>,
        ) => {
          if (controller.signal.aborted) return null;
          const pending = invokeOperation(manager, operation, withoutUndefined(input), {
            signal: controller.signal,
          }) as Promise<Result>;
          return Promise.race([pending, stopped]);
        };
        const status = await loop(call, controller.signal);
        return controller.signal.aborted ? EXIT_CANCELLED : status;
      },
      () => undefined,
      (status) => status,
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Waits `ms`, or less when the follow is cancelled meanwhile. */
export function pause(ms: number, cancelled: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      cancelled.removeEventListener("abort", done);
      resolve();
    }
    cancelled.addEventListener("abort", done, { once: true });
  });
}

/** True for the error a followed object gives once it is gone (deleted, closed). */
export function isGone(error: unknown): boolean {
  return asPyroError(error).code === "not_found";
}

/**
 * What `next` (a whole log as read now) adds to `seen` (the same log as read before). A log
 * that only grew starts with `seen`; one that rotated lost its head, so the new part starts
 * after the last few KiB of `seen`; if even those are gone, all of `next` is new.
 */
export function addedText(seen: string, next: string): string {
  if (next.startsWith(seen)) return next.slice(seen.length);
  const anchor = seen.slice(-4096);
  const at = next.indexOf(anchor);
  return at === -1 ? next : next.slice(at + anchor.length);
}

/** The last `lines` lines of `text` (all of it when `lines` is undefined). */
export function lastLines(text: string, lines: number | undefined): string {
  if (lines === undefined) return text;
  if (lines <= 0) return "";
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  const parts = body.split("\n");
  if (parts.length <= lines) return text;
  return `${parts.slice(-lines).join("\n")}${text.endsWith("\n") ? "\n" : ""}`;
}
