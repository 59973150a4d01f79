import type { AbortSignalLike } from "./options.js";

/**
 * A real AbortSignal for the runtime from the caller's signal. Ours is typed structurally
 * (AbortSignalLike) so declarations need no DOM types; anything with that shape works, and a
 * real AbortSignal passes through as it is. `release` unlinks the listener after the call.
 */
export function linkSignal(signal: AbortSignalLike | undefined): {
  signal: AbortSignal | undefined;
  release: () => void;
} {
  if (signal === undefined || signal instanceof AbortSignal) return { signal, release: () => {} };
  const controller = new AbortController();
  const abort = () => controller.abort(signal.reason);
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
  return { signal: controller.signal, release: () => signal.removeEventListener("abort", abort) };
}
