/** The shell handle of the SDK: `workspace.shells.open()` (src/sdk/workspace.ts). */
import type { AbortSignalLike } from "./options.js";
import { toDate, toDateOrNull } from "./time.js";
import type {
  PyroMethods,
  ShellCloseResult,
  ShellOpenResult,
  ShellReadResult,
  ShellSignal,
  ShellSignalResult,
  ShellWriteResult,
} from "./types.generated.js";

/** A shell's record: state, cwd, size, pid, exit_code; timestamps in Unix seconds. */
export type ShellInfo = ShellOpenResult;

export interface ShellOpenOptions {
  /** Directory under /workspace (default /workspace). */
  cwd?: string;
  /** Terminal columns (default 120) and rows (default 30). */
  cols?: number;
  rows?: number;
  /** Workspace secrets to put in the shell's environment: { ENV_NAME: SECRET_NAME }. */
  secretEnv?: Record<string, string>;
}

export interface ShellReadOptions {
  /** Absolute output offset; default: where the previous read of this handle ended. */
  cursor?: number;
  /** Most characters to return (default 65536). */
  maxChars?: number;
  /** With no new output yet, wait up to this many seconds (0-30) for some. */
  waitSeconds?: number;
  /** Escape and control sequences removed, overwrites applied. */
  plain?: boolean;
  /** Keep reading until no output came for this many milliseconds (300 suits a command just typed). */
  waitForIdleMs?: number;
  signal?: AbortSignalLike;
}

/**
 * A PTY shell in a workspace. `read()` goes on from where the previous read ended (the
 * handle keeps the cursor), so a loop of `write` and `read` sees each output once.
 */
export class Shell {
  readonly id: string;
  readonly workspaceId: string;
  /** Where the next `read()` starts (the previous read's next_cursor). */
  cursor = 0;
  #info: ShellInfo;
  readonly #methods: PyroMethods;

  constructor(methods: PyroMethods, info: ShellInfo) {
    this.#methods = methods;
    this.#info = info;
    this.id = info.shell_id;
    this.workspaceId = info.workspace_id;
  }

  /** The record as of the last call on this handle. */
  get info(): ShellInfo {
    return this.#info;
  }

  get startedAt(): Date {
    return toDate(this.#info.started_at);
  }

  /** When the shell exited, or null while it runs. */
  get endedAt(): Date | null {
    return toDateOrNull(this.#info.ended_at);
  }

  async read(options: ShellReadOptions = {}): Promise<ShellReadResult> {
    const result = await this.#methods.readShell(
      {
        ...this.#ids(),
        cursor: options.cursor ?? this.cursor,
        max_chars: options.maxChars,
        wait_seconds: options.waitSeconds,
        plain: options.plain,
        wait_for_idle_ms: options.waitForIdleMs,
      },
      { signal: options.signal },
    );
    this.cursor = result.next_cursor;
    return this.#keep(result);
  }

  /** Types `input`, followed by a newline unless `appendNewline` is false. */
  async write(input: string, options: { appendNewline?: boolean } = {}): Promise<ShellWriteResult> {
    return this.#keep(
      await this.#methods.writeShell({
        ...this.#ids(),
        input,
        append_newline: options.appendNewline,
      }),
    );
  }

  /** Sends a signal (default INT, like Ctrl-C) to the shell's foreground job. */
  async signal(signal: ShellSignal = "INT"): Promise<ShellSignalResult> {
    return this.#keep(await this.#methods.signalShell({ ...this.#ids(), signal }));
  }

  async resize(cols: number, rows: number): Promise<ShellInfo> {
    return this.#keep(await this.#methods.resizeShell({ ...this.#ids(), cols, rows }));
  }

  /** Closes the shell and ends everything started in it. */
  close(): Promise<ShellCloseResult> {
    return this.#methods.closeShell(this.#ids());
  }

  /** `await using shell = await ws.shells.open()` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(ignoreGone);
  }

  #ids() {
    return { workspace_id: this.workspaceId, shell_id: this.id };
  }

  #keep<Result extends ShellInfo>(result: Result): Result {
    this.#info = result;
    return result;
  }
}

/** Disposal after an explicit close or delete: the thing is already gone, which is the goal. */
export function ignoreGone(error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "not_found" || code === "expired") return;
  throw error;
}
