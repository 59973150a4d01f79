/**
 * The terminal under an agent shell (shells.ts): `script` spawning the shell on a pty, the
 * output it relays into a bounded buffer, and the pty-side steps (finding the shell and its
 * terminal, setting the size with `stty`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { StringDecoder } from "node:string_decoder";

import { PyroError } from "../errors.js";
import { sessionPrefix } from "./exec.js";
import type { OutputBuffer } from "./output-buffer.js";
import { listProcesses } from "../process/ownership.js";
import { signalNumber, sleep } from "../process/process-group.js";

/** How long open waits for `script` to fork the shell before giving up. */
const OPEN_TIMEOUT_MS = 5_000;

/** How long a resize may take (`stty` on the terminal's slave side). */
const RESIZE_TIMEOUT_MS = 5_000;

export interface Shell {
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

/** Resolves when the shell's output grows or it exits, after `ms`, or when `signal` aborts. */
export function waitForOutput(shell: Shell, ms: number, signal: AbortSignal): Promise<void> {
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
export function terminalOf(pid: number): string | null {
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

export function runStty(ttyPath: string, cols: number, rows: number): Promise<void> {
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
export async function waitForChild(
  relay: ChildProcess,
  spawnError: () => Error | null,
): Promise<number> {
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

/**
 * Starts `script` running the shell (or `command`) on a new pty. bash runs without rc
 * files: the guest's and (for the host backend) the user's dotfiles would make prompts and
 * behaviour differ between sandboxes. The size is set from inside the pty because `script`
 * copies it only from a terminal stdin, and ours is a pipe.
 */
export function spawnTerminal(options: {
  cwd: string;
  cols: number;
  rows: number;
  command: string | undefined;
  inputrc: string;
  env: Record<string, string>;
}): ChildProcess {
  const { cols, rows, command } = options;
  const shellPath = fs.existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";
  const flags = shellPath === "/bin/bash" ? "--noprofile --norc -i" : "-i";
  // bash -c execs a lone simple command (dash -c does not): no shell is left waiting in
  // between to die of the Ctrl-C meant for the command (`-it -- sh -c '... trap ...'`).
  const program =
    command === undefined ? `${shellPath} ${flags}` : `${shellPath} -c ${shellWord(command)}`;
  const inner = `${sessionPrefix()}stty cols ${cols} rows ${rows} 2>/dev/null; export SHELL=${shellPath}; exec ${program}`;
  return spawn("script", ["-qfec", inner, "/dev/null"], {
    cwd: options.cwd,
    stdio: ["pipe", "pipe", "pipe"],
    env: {
      ...process.env,
      // `script` runs its -c command with $SHELL; make that a POSIX sh, whatever the caller's.
      SHELL: "/bin/sh",
      TERM: "xterm-256color",
      // Never write the history of an agent's session into someone's ~/.bash_history.
      HISTFILE: "",
      INPUTRC: options.inputrc,
      ...options.env,
    },
  });
}

/**
 * Wires a shell's relay to it: output into its buffer, its exit into its state, each
 * waking its waiting reads. Returns what tells a spawn failure (no `script`) apart.
 */
export function followTerminal(shell: Shell): () => Error | null {
  const { relay, buffer, waiters } = shell;
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
  let spawnError: Error | null = null;
  relay.once("error", (error) => {
    spawnError = error;
  });
  relay.once("exit", (code, signal) => {
    shell.exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
    shell.endedAt = Date.now() / 1000;
    wake();
  });
  return () => spawnError;
}
