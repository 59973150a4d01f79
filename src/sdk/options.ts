/**
 * The SDK's option types. They name only what the ES2022 library has: no Node or DOM type
 * (AbortSignal, Buffer) appears in a declaration a consumer compiles, so a project with
 * `lib: ["ES2022"]` and `types: []` type-checks against pyro (test/sdk-consumer.test.ts).
 */
import type { ProgressEvent } from "../shared/progress.js";

/** A phase boundary of a long operation (environment pull, boot, seed, baseline, reset). */
export type { ProgressEvent as Progress } from "../shared/progress.js";

/**
 * What the SDK needs of an AbortSignal (a real `AbortSignal` is one), declared here so that
 * our declarations compile without the DOM library or Node's types.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** Per-call options. */
export interface CallOptions {
  /** Called at phase boundaries of long operations (create, reset, run). */
  onProgress?: (progress: ProgressEvent) => void;
  /**
   * Cancels the call. A command it runs (execWorkspace) is killed with everything it
   * started, logged with exit_code 130 and `cancelled: true`, and the call rejects with a
   * PyroError of code `cancelled`.
   */
  signal?: AbortSignalLike;
  /** execWorkspace: the command's stdout as it arrives (the result still has all of it). */
  onStdout?: (text: string) => void;
  /** execWorkspace: the command's stderr as it arrives. */
  onStderr?: (text: string) => void;
}

// `[Symbol.asyncDispose]` in our declarations must compile for a consumer whose lib predates
// explicit resource management (ES2022 alone): declare the symbol as lib.esnext.disposable
// and @types/node do (identical declarations merge). Node 20 defines it at run time.
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}
