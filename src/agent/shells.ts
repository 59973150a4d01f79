/**
 * Persistent PTY shells, owned by the agent so that any client process can read and write
 * the same shell. The guest has Node 18 and no compiler, so instead of a native pty addon
 * the terminal comes from util-linux `script` (in Debian's essential bsdutils package): it
 * allocates a pty, makes the shell a session leader with that pty as controlling terminal,
 * and relays our stdin/stdout pipes to the pty master.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";

import { NotFoundError, PyroError, StateError, ValidationError } from "../errors.js";
import type { AgentContext } from "./context.js";
import { stringField } from "./context.js";
import { sessionPrefix } from "./exec.js";
import { OutputBuffer } from "./output-buffer.js";
import {
  killOwned,
  listProcesses,
  newOwnerToken,
  ownerEnv,
  ownerMarker,
} from "../process/ownership.js";
import { readProcStat, signalNumber, sleep } from "../process/process-group.js";
import { checkCommand } from "../shared/limits.js";
import { SHELL_SIGNALS } from "../shared/shell-signals.js";

const MAX_SHELLS = 32;
const MAX_READ_CHARS = 1024 * 1024;
const MAX_INPUT_CHARS = 64 * 1024;
const MAX_DIMENSION = 1000;
/** How long open waits for `script` to fork the shell before giving up. */
const OPEN_TIMEOUT_MS = 5_000;
/** How long open waits for the first prompt (a shell that prints none still opens). */
const PROMPT_WAIT_MS = 2_000;
/** Between SIGHUP to the terminal's session and SIGKILL to whatever is left. */
const CLOSE_GRACE_MS = 500;
/** Longest a read may wait for new output (well inside the client's 60 s request slack). */
const MAX_WAIT_SECONDS = 30;
/** How long a resize may take (`stty` on the terminal's slave side). */
const RESIZE_TIMEOUT_MS = 5_000;

interface Shell {
  id: string;
  cwd: string;
  cols: number;
  rows: number;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  /** The `script` process; its exit is the shell's exit. */
  relay: ChildProcess;
  /** The shell itself: session leader of the terminal, so its /proc stat has the tpgid. */
  shellPid: number;
  /** PYRO_OWNER of everything started in this terminal. */
  token: string;
  buffer: OutputBuffer;
  /** Reads waiting for output past the end (wait_seconds); called on new output and exit. */
  waiters: Set<() => void>;
  /** The terminal's slave device (/dev/pts/N), found on the first resize. */
  ttyPath: string | null;
}

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
      await this.close(this.lookup(body));
      return { shell_id: stringField(body, "shell_id"), closed: true };
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

  private async open(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const cwd = this.context.paths.resolve(stringField(body, "cwd") ?? "/workspace", "cwd");
    if (!fs.statSync(cwd.local, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ValidationError(`cwd does not exist or is not a directory: '${cwd.guest}'`, {
        field: "cwd",
      });
    }
    const cols = dimension(body, "cols", 120);
    const rows = dimension(body, "rows", 30);
    if (this.shells.size >= MAX_SHELLS) {
      throw new PyroError(
        "limit_exceeded",
        `a workspace may have at most ${MAX_SHELLS} shells; close one first`,
        { limit: "shells", max: MAX_SHELLS },
      );
    }
    const id = randomBytes(6).toString("hex");
    const token = newOwnerToken();
    const shellPath = fs.existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";
    // bash without rc files: the guest's and (for the host backend) the user's dotfiles
    // would make prompts and behaviour differ between sandboxes. The size is set from
    // inside the pty because `script` copies it only from a terminal stdin, and ours is a pipe.
    const flags = shellPath === "/bin/bash" ? "--noprofile --norc -i" : "-i";
    // With a command (`pyro run -it`), the terminal runs it instead of an interactive shell.
    const raw = stringField(body, "command");
    const command = raw === undefined ? undefined : checkCommand(raw);
    // bash -c execs a lone simple command (dash -c does not): no shell is left waiting in
    // between to die of the Ctrl-C meant for the command (`-it -- sh -c '... trap ...'`).
    const program =
      command === undefined ? `${shellPath} ${flags}` : `${shellPath} -c ${shellWord(command)}`;
    const inner = `${sessionPrefix()}stty cols ${cols} rows ${rows} 2>/dev/null; export SHELL=${shellPath}; exec ${program}`;
    const relay = spawn("script", ["-qfec", inner, "/dev/null"], {
      cwd: cwd.local,
      stdio: ["pipe", "pipe", "pipe"],
      env: {
        ...process.env,
        // `script` runs its -c command with $SHELL; make that a POSIX sh, whatever the caller's.
        SHELL: "/bin/sh",
        TERM: "xterm-256color",
        // Never write the history of an agent's session into someone's ~/.bash_history.
        HISTFILE: "",
        INPUTRC: this.inputrcPath(),
        // The caller's env (secret_env), then the owner marks, which it cannot hide.
        ...stringEnv(body.env),
        ...ownerEnv(this.context.stateDir, token),
      },
    });
    const buffer = new OutputBuffer();
    const waiters = new Set<() => void>();
    const wake = (): void => {
      for (const waiter of [...waiters]) waiter();
    };
    for (const stream of [relay.stdout, relay.stderr]) {
      const decoder = new StringDecoder("utf8");
      stream?.on("data", (chunk: Buffer) => {
        buffer.append(decoder.write(chunk));
        wake();
      });
      stream?.on("end", () => {
        buffer.append(decoder.end());
        wake();
      });
    }
    // A shell that exits while the client is writing must not crash the agent with EPIPE.
    relay.stdin?.on("error", () => undefined);
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
      buffer,
      waiters,
      ttyPath: null,
    };
    let spawnError: Error | null = null;
    relay.once("error", (error) => {
      spawnError = error;
    });
    relay.once("exit", (code, signal) => {
      shell.exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
      shell.endedAt = Date.now() / 1000;
      wake();
    });
    this.shells.set(id, shell);
    try {
      shell.shellPid = await waitForChild(relay, () => spawnError);
      // Until the shell prints its first prompt, the terminal echoes typed-ahead input
      // itself and readline echoes it again; answering after the prompt avoids the double.
      const deadline = Date.now() + PROMPT_WAIT_MS;
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
    body: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const shell = this.lookup(body);
    const cursor = integer(body, "cursor", 0, 0, Number.MAX_SAFE_INTEGER);
    const maxChars = integer(body, "max_chars", 65536, 1, MAX_READ_CHARS);
    const waitSeconds = body.wait_seconds ?? 0;
    if (
      typeof waitSeconds !== "number" ||
      !Number.isFinite(waitSeconds) ||
      waitSeconds < 0 ||
      waitSeconds > MAX_WAIT_SECONDS
    ) {
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
  private async resize(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const shell = this.lookup(body);
    const cols = dimension(body, "cols", shell.cols);
    const rows = dimension(body, "rows", shell.rows);
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

  private async write(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const shell = this.lookup(body);
    const input = body.input;
    if (typeof input !== "string")
      throw new ValidationError("input must be a string", { field: "input" });
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
  private signal(body: Record<string, unknown>): Record<string, unknown> {
    const shell = this.lookup(body);
    const name = stringField(body, "signal") ?? "INT";
    if (!(SHELL_SIGNALS as readonly string[]).includes(name)) {
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
      process.kill(-target, `SIG${name}` as NodeJS.Signals);
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

  private lookup(body: Record<string, unknown>): Shell {
    const id = stringField(body, "shell_id") ?? "";
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

function describe(shell: Shell): Record<string, unknown> {
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

/** Resolves when the shell's output grows or it exits, after `ms`, or when `signal` aborts. */
function waitForOutput(shell: Shell, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      shell.waiters.delete(done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    shell.waiters.add(done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The terminal device the shell runs on, from its standard streams. */
function terminalOf(pid: number): string | null {
  for (const fd of [0, 1, 2]) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (/^\/dev\/pts\/\d+$/.test(target)) return target;
    } catch {
      // The fd is closed or the process is gone: try the next one.
    }
  }
  return null;
}

function runStty(ttyPath: string, cols: number, rows: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("stty", ["-F", ttyPath, "cols", String(cols), "rows", String(rows)], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: RESIZE_TIMEOUT_MS,
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (error) =>
      reject(new PyroError("agent_error", `could not resize the terminal: ${error.message}`)),
    );
    child.once("close", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new PyroError(
            "agent_error",
            `could not resize the terminal: stty exited with ${String(code)}: ${stderr.trim()}`,
          ),
        );
    });
  });
}

/** Quotes one word for /bin/sh. */
function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Waits for `script` to fork the shell and returns the shell's pid. */
async function waitForChild(relay: ChildProcess, spawnError: () => Error | null): Promise<number> {
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const error = spawnError();
    if (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      throw new PyroError(
        "agent_error",
        missing
          ? "PTY shells need util-linux `script`, which is not installed in this sandbox"
          : `could not start the shell: ${error.message}`,
        {},
        { cause: error },
      );
    }
    if (relay.exitCode !== null || relay.signalCode !== null) {
      throw new PyroError("agent_error", `the shell exited at once (code ${relay.exitCode})`);
    }
    const child = relay.pid ? firstChild(relay.pid) : null;
    if (child) return child;
    await sleep(5);
  }
  throw new PyroError("agent_error", `the shell did not start within ${OPEN_TIMEOUT_MS} ms`);
}

function firstChild(pid: number): number | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    const first = Number(text.split(" ")[0]);
    return first > 0 ? first : null;
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: find it the slow way.
    return listProcesses().find((entry) => entry.ppid === pid)?.pid ?? null;
  }
}

function dimension(body: Record<string, unknown>, field: string, fallback: number): number {
  return integer(body, field, fallback, 1, MAX_DIMENSION);
}

function integer(
  body: Record<string, unknown>,
  field: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = body[field] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
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

function stringEnv(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string",
    ),
  );
}
