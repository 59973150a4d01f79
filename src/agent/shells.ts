/**
 * Persistent PTY shells, owned by the agent so that any client process can read and write
 * the same shell. The guest has Node 18 and no compiler, so instead of a native pty addon
 * the terminal comes from util-linux `script` (in Debian's essential bsdutils package): it
 * allocates a pty, makes the shell a session leader with that pty as controlling terminal,
 * and relays our stdin/stdout pipes to the pty master.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { NotFoundError, PyroError, StateError, ValidationError } from "../errors.js";
import type { AgentParams, AgentReply } from "../protocol/operations.js";
import type { AgentContext } from "./context.js";
import { OutputBuffer } from "./output-buffer.js";
import {
  followTerminal,
  runStty,
  spawnTerminal,
  terminalOf,
  waitForChild,
  waitForOutput,
  type Shell,
} from "./shell-terminal.js";
import { killOwned, newOwnerToken, ownerEnv, ownerMarker } from "../process/ownership.js";
import { readProcStat, sleep } from "../process/process-group.js";
import { checkCommand } from "../shared/limits.js";
import { SHELL_SIGNALS, isShellSignal } from "../shared/shell-signals.js";

const MAX_SHELLS = 32;
const MAX_READ_CHARS = 1024 * 1024;
const MAX_INPUT_CHARS = 64 * 1024;
const MAX_DIMENSION = 1000;
/** How long open waits for the first prompt (a shell that prints none still opens). */
const PROMPT_WAIT_MS = 2_000;
/** Between SIGHUP to the terminal's session and SIGKILL to whatever is left. */
const CLOSE_GRACE_MS = 500;
/** Longest a read may wait for new output (well inside the client's 60 s request slack). */
const MAX_WAIT_SECONDS = 30;
export class ShellRegistry {
  private readonly shells = new Map<string, Shell>();
  private inputrc: string | null = null;

  constructor(private readonly context: AgentContext) {}

  register(): void {
    const { handlers } = this.context;
    handlers.set("shell.open", ({ body }) => this.open(body));
    handlers.set("shell.read", ({ body, signal }) => this.read(body, signal));
    handlers.set("shell.write", ({ body }) => this.write(body));
    handlers.set("shell.signal", async ({ body }) => this.signal(body));
    handlers.set("shell.close", async ({ body }) => {
      await this.close(this.lookup(body.shell_id));
      return { shell_id: body.shell_id, closed: true };
    });
    handlers.set("shell.list", async () => ({ shells: [...this.shells.values()].map(describe) }));
    handlers.set("shell.close_all", async () => ({ closed_count: await this.closeAll() }));
    handlers.set("shell.resize", ({ body }) => this.resize(body));
    this.context.cleanups.push(async () => {
      await this.closeAll();
    });
  }

  async closeAll(): Promise<number> {
    const all = [...this.shells.values()];
    await Promise.all(all.map((shell) => this.close(shell)));
    return all.length;
  }

  private async open(body: AgentParams<"shell.open">): Promise<AgentReply<"shell.open">> {
    const cwd = this.context.paths.resolve(body.cwd ?? "/workspace", "cwd");
    if (!fs.statSync(cwd.local, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ValidationError(`cwd does not exist or is not a directory: '${cwd.guest}'`, {
        field: "cwd",
      });
    }
    const cols = dimension("cols", body.cols, 120);
    const rows = dimension("rows", body.rows, 30);
    if (this.shells.size >= MAX_SHELLS) {
      throw new PyroError(
        "limit_exceeded",
        `a workspace may have at most ${MAX_SHELLS} shells; close one first`,
        { limit: "shells", max: MAX_SHELLS },
      );
    }
    const id = randomBytes(6).toString("hex");
    const token = newOwnerToken();
    // With a command (`pyro run -it`), the terminal runs it instead of an interactive shell.
    const command = body.command === undefined ? undefined : checkCommand(body.command);
    const relay = spawnTerminal({
      cwd: cwd.local,
      cols,
      rows,
      command,
      inputrc: this.inputrcPath(),
      // The caller's env (secret_env), then the owner marks, which it cannot hide.
      env: { ...body.env, ...ownerEnv(this.context.stateDir, token) },
    });
    const shell: Shell = {
      id,
      cwd: cwd.guest,
      cols,
      rows,
      startedAt: Date.now() / 1000,
      endedAt: null,
      exitCode: null,
      relay,
      shellPid: 0,
      token,
      buffer: new OutputBuffer(),
      waiters: new Set(),
      ttyPath: null,
    };
    const spawnError = followTerminal(shell);
    this.shells.set(id, shell);
    try {
      shell.shellPid = await waitForChild(relay, spawnError);
      // Until the shell prints its first prompt, the terminal echoes typed-ahead input
      // itself and readline echoes it again; answering after the prompt avoids the double.
      const deadline = Date.now() + PROMPT_WAIT_MS;
      const { buffer } = shell;
      while (buffer.end === 0 && shell.endedAt === null && Date.now() < deadline) await sleep(5);
    } catch (error) {
      this.shells.delete(id);
      relay.kill("SIGKILL");
      throw error;
    }
    return describe(shell);
  }

  /**
   * Output from `cursor`. With `wait_seconds`, a read at the end of the output waits until
   * the shell prints something or exits (or the time is up, or the client leaves), so an
   * attached terminal sees output as soon as it is produced without polling.
   */
  private async read(
    body: AgentParams<"shell.read">,
    signal: AbortSignal,
  ): Promise<AgentReply<"shell.read">> {
    const shell = this.lookup(body.shell_id);
    const cursor = integer("cursor", body.cursor, 0, 0, Number.MAX_SAFE_INTEGER);
    const maxChars = integer("max_chars", body.max_chars, 65536, 1, MAX_READ_CHARS);
    const waitSeconds = body.wait_seconds ?? 0;
    if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > MAX_WAIT_SECONDS) {
      throw new ValidationError(
        `wait_seconds must be a number between 0 and ${MAX_WAIT_SECONDS}, got ${String(waitSeconds)}`,
        { field: "wait_seconds", value: waitSeconds },
      );
    }
    if (cursor > shell.buffer.end) {
      throw new ValidationError(
        `cursor ${cursor} is past the end of the output (${shell.buffer.end})`,
        { field: "cursor", value: cursor, end: shell.buffer.end },
      );
    }
    if (cursor === shell.buffer.end && shell.endedAt === null && waitSeconds > 0) {
      await waitForOutput(shell, waitSeconds * 1000, signal);
    }
    return { ...describe(shell), ...shell.buffer.read(cursor, maxChars) };
  }

  /**
   * Sets the terminal's size. The pty master belongs to `script`, so the size is set from
   * the slave side (`stty -F`): TIOCSWINSZ on either side resizes the pair, and the kernel
   * sends SIGWINCH to the terminal's foreground job, as a terminal emulator's resize would.
   */
  private async resize(body: AgentParams<"shell.resize">): Promise<AgentReply<"shell.resize">> {
    const shell = this.lookup(body.shell_id);
    const cols = dimension("cols", body.cols, shell.cols);
    const rows = dimension("rows", body.rows, shell.rows);
    if (shell.endedAt !== null) {
      throw new StateError(`shell '${shell.id}' is not running (exit code ${shell.exitCode})`, {
        shell_id: shell.id,
      });
    }
    shell.ttyPath ??= terminalOf(shell.shellPid);
    if (!shell.ttyPath) {
      throw new PyroError("agent_error", `cannot find the terminal of shell '${shell.id}'`, {
        shell_id: shell.id,
      });
    }
    await runStty(shell.ttyPath, cols, rows);
    shell.cols = cols;
    shell.rows = rows;
    return describe(shell);
  }

  private async write(body: AgentParams<"shell.write">): Promise<AgentReply<"shell.write">> {
    const shell = this.lookup(body.shell_id);
    const { input } = body;
    if (input.length > MAX_INPUT_CHARS) {
      throw new ValidationError(`input must be at most ${MAX_INPUT_CHARS} characters`, {
        field: "input",
      });
    }
    const appendNewline = body.append_newline !== false;
    const stdin = shell.relay.stdin;
    if (shell.endedAt !== null || !stdin || stdin.destroyed) {
      throw new StateError(`shell '${shell.id}' is not running (exit code ${shell.exitCode})`, {
        shell_id: shell.id,
      });
    }
    const text = appendNewline ? `${input}\n` : input;
    await new Promise<void>((resolve, reject) => {
      stdin.write(text, (error) => (error ? reject(error) : resolve()));
    });
    return { ...describe(shell), input_length: text.length, append_newline: appendNewline };
  }

  /**
   * Signals go to the terminal's foreground process group, as a keyboard's Ctrl-C would:
   * INT stops `sleep 100` and leaves the shell at its prompt. With nothing in the
   * foreground, the foreground group is the shell's own.
   */
  private signal(body: AgentParams<"shell.signal">): AgentReply<"shell.signal"> {
    const shell = this.lookup(body.shell_id);
    const name = body.signal ?? "INT";
    if (!isShellSignal(name)) {
      throw new ValidationError(
        `signal must be one of: ${SHELL_SIGNALS.join(", ")}; got '${name}'`,
        {
          field: "signal",
        },
      );
    }
    if (shell.endedAt !== null) {
      throw new StateError(`shell '${shell.id}' is not running (exit code ${shell.exitCode})`, {
        shell_id: shell.id,
      });
    }
    const foreground = readProcStat(shell.shellPid)?.tpgid ?? -1;
    const target = foreground > 0 ? foreground : shell.shellPid;
    try {
      process.kill(-target, `SIG${name}`);
    } catch {
      // The group vanished between the read and the kill: nothing left to signal.
    }
    return { ...describe(shell), signal: name, target_pgid: target };
  }

  /** Hangs up the terminal's whole session (background jobs included), then kills leftovers. */
  private async close(shell: Shell): Promise<void> {
    this.shells.delete(shell.id);
    // Waiting reads answer now (with the shell as it is) instead of at their deadline.
    for (const waiter of [...shell.waiters]) waiter();
    await killOwned(
      { sid: shell.shellPid, marker: ownerMarker(shell.token) },
      "SIGHUP",
      CLOSE_GRACE_MS,
    );
    if (shell.endedAt === null) {
      shell.relay.kill("SIGKILL");
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (shell.endedAt === null && Date.now() < deadline) await sleep(10);
    }
  }

  private lookup(id: string): Shell {
    const shell = this.shells.get(id);
    if (!shell) throw new NotFoundError(`shell '${id}' does not exist`, { shell_id: id });
    return shell;
  }

  /** Readline settings for every shell: no bracketed-paste escapes cluttering the output. */
  private inputrcPath(): string {
    if (this.inputrc) return this.inputrc;
    const file = path.join(this.context.stateDir, "shell-inputrc");
    fs.writeFileSync(file, "$include /etc/inputrc\nset enable-bracketed-paste off\n", {
      mode: 0o600,
    });
    this.inputrc = file;
    return file;
  }
}

function describe(shell: Shell): AgentReply<"shell.open"> {
  return {
    shell_id: shell.id,
    state: shell.endedAt === null ? "running" : "exited",
    cwd: shell.cwd,
    cols: shell.cols,
    rows: shell.rows,
    pid: shell.shellPid,
    started_at: shell.startedAt,
    ended_at: shell.endedAt,
    exit_code: shell.exitCode,
  };
}

function dimension(field: string, value: number | undefined, fallback: number): number {
  return integer(field, value, fallback, 1, MAX_DIMENSION);
}

function integer(
  field: string,
  given: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = given ?? fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(
      `${field} must be an integer between ${min} and ${max}, got ${String(value)}`,
      {
        field,
        value,
      },
    );
  }
  return value;
}
