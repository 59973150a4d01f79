/**
 * Drives `pyro workspace attach` and `pyro run -it` at a real terminal: tmux gives each
 * session a PTY of a chosen size, types keys into it (send-keys) and shows what is on the
 * screen (capture-pane). Each Tmux uses a server of its own (-L), so tests never touch a
 * user's tmux, and kill() ends it with every process it started.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

import { expect } from "vitest";

import type { Manager } from "../src/core/manager.js";

const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));

/** Why terminal tests cannot run here (null: they can). scripts/guest-setup.sh installs tmux. */
export function tmuxUnavailableReason(): string | null {
  const probe = spawnSync("tmux", ["-V"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    return "tmux is not installed (scripts/guest-setup.sh installs it when run as root)";
  }
  return null;
}

/** tmux is required under CI, where scripts/guest-setup.sh has installed it. */
export function requireTmux(skip: (note?: string) => void): void {
  const reason = tmuxUnavailableReason();
  if (!reason) return;
  if (process.env.CI) throw new Error(`terminal tests are required in CI: ${reason}`);
  skip(reason);
}

export class Tmux {
  private readonly socket = `pyro-test-${process.pid}-${randomBytes(4).toString("hex")}`;

  constructor(private readonly env: Record<string, string>) {}

  private tmux(...args: string[]): string {
    const result = spawnSync("tmux", ["-L", this.socket, "-f", "/dev/null", ...args], {
      encoding: "utf8",
    });
    if (result.status !== 0) {
      throw new Error(`tmux ${args.join(" ")} failed: ${result.stderr || String(result.error)}`);
    }
    return result.stdout;
  }

  /**
   * Starts `pyro ARGS…` in a new session of cols x rows. When pyro exits, the pane shows
   * `EXIT=<status>` and stays open (a late Ctrl-C included) so the screen can still be read.
   */
  start(name: string, args: string[], cols: number, rows: number): void {
    const env = Object.entries({ ...this.env, TERM: "xterm-256color" }).map(
      ([key, value]) => `${key}=${quote(value)}`,
    );
    // The pane's shell catches INT (a handler, which children do not inherit): a Ctrl-C
    // typed once pyro has given the terminal back must not end the pane.
    const command = `trap : INT; env ${env.join(" ")} ${quote(process.execPath)} ${quote(cli)} ${args.map(quote).join(" ")}; echo EXIT=$?; trap "" INT; sleep 600`;
    this.tmux("new-session", "-d", "-s", name, "-x", String(cols), "-y", String(rows), command);
  }

  keys(name: string, ...keys: string[]): void {
    this.tmux("send-keys", "-t", name, ...keys);
  }

  /** Types `text` literally, then Enter. */
  line(name: string, text: string): void {
    this.tmux("send-keys", "-t", name, "-l", text);
    this.tmux("send-keys", "-t", name, "Enter");
  }

  resize(name: string, cols: number, rows: number): void {
    this.tmux("resize-window", "-t", name, "-x", String(cols), "-y", String(rows));
  }

  /** The screen and its scrollback, lines joined back where tmux wrapped them (-J). */
  screen(name: string): string {
    return this.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", name);
  }

  /**
   * Waits until the screen matches (trailing blank space removed, so `$` is the cursor's
   * line); fails with what was on it.
   */
  async waitFor(
    name: string,
    pattern: RegExp,
    timeoutMs = 20_000,
    /** Done every half second while the screen does not match yet (e.g. a key press). */
    retry?: () => void,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    let nextRetry = 0;
    while (Date.now() < deadline) {
      screen = this.screen(name).trimEnd();
      const match = screen.match(pattern);
      if (match) return match;
      if (retry && Date.now() >= nextRetry) {
        retry();
        nextRetry = Date.now() + 500;
      }
      await sleep(50);
    }
    throw new Error(`screen of '${name}' never matched ${String(pattern)}:\n${screen}`);
  }

  /** The pid of pyro itself: the child of the pane's shell. */
  pyroPid(name: string): number {
    const shell = this.tmux("display-message", "-p", "-t", name, "#{pane_pid}").trim();
    const children = fs.readFileSync(`/proc/${shell}/task/${shell}/children`, "utf8").trim();
    return Number(children.split(" ")[0]);
  }

  kill(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}

/** A bash prompt as the last thing on the screen. */
const PROMPT = /bash-[\d.]+[#$]$/;

/** Waits until `check` holds, polling; fails with `what`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The attach scenario every backend passes: `stty size` in a new shell, a window resize
 * seen by the shell, Ctrl-C interrupting `sleep 100` (and pyro still attached), detach
 * with the detach keys, and a second terminal reattaching to the same shell, which still
 * has the variable set before the detach and the earlier output on screen.
 */
export async function attachScenario(
  pyro: Manager,
  workspaceId: string,
  env: Record<string, string>,
): Promise<void> {
  const tmux = new Tmux(env);
  try {
    tmux.start("first", ["workspace", "attach", workspaceId], 100, 30);
    const opened = await tmux.waitFor(
      "first",
      /pyro: shell ([0-9a-f]{12}) \(detach with Ctrl-P Ctrl-Q; reattach: pyro workspace attach \w+ \1\)/,
    );
    const shellId = opened[1] as string;
    await tmux.waitFor("first", PROMPT);

    tmux.line("first", "stty size");
    await tmux.waitFor("first", /^30 100$/m);

    // The window shrinks: pyro's SIGWINCH becomes a resize of the remote PTY.
    tmux.resize("first", 80, 20);
    await until("the shell to take the window's size", async () => {
      const shell = await pyro.readShell(workspaceId, shellId);
      return shell.cols === 80 && shell.rows === 20;
    });
    tmux.line("first", "stty size");
    await tmux.waitFor("first", /^20 80$/m);

    // Ctrl-C is a key for the remote terminal: it stops the job, not pyro.
    tmux.line("first", "sleep 100");
    await until("sleep to be the terminal's foreground job", async () => {
      const pid = (await pyro.readShell(workspaceId, shellId)).pid;
      const probe = await pyro.execWorkspace(workspaceId, {
        command: `cat /proc/$(cut -d' ' -f8 /proc/${pid}/stat)/comm 2>/dev/null`,
      });
      return probe.stdout.trim() === "sleep";
    });
    tmux.keys("first", "C-c");
    tmux.line("first", "echo rc=$?; export PYRO_MARK=kept-$((6*7))");
    await tmux.waitFor("first", /^rc=130$/m);
    await tmux.waitFor("first", PROMPT);

    tmux.keys("first", "C-p", "C-q");
    await tmux.waitFor(
      "first",
      new RegExp(
        `pyro: detached from shell ${shellId}; reattach: pyro workspace attach \\w+ ${shellId}\\s+EXIT=0`,
      ),
    );
    // The shell keeps running after a detach.
    expect((await pyro.readShell(workspaceId, shellId)).state).toBe("running");

    // Another terminal, another size: same shell, same state, earlier output replayed.
    tmux.start("second", ["workspace", "attach", workspaceId, shellId], 90, 25);
    await tmux.waitFor("second", new RegExp(`pyro: attached to shell ${shellId}`));
    await tmux.waitFor("second", /^rc=130$/m);
    tmux.line("second", "echo mark=$PYRO_MARK; stty size");
    await tmux.waitFor("second", /^mark=kept-42\n25 90$/m);
    tmux.line("second", "exit 7");
    await tmux.waitFor("second", /^EXIT=7$/m);
  } finally {
    tmux.kill();
  }
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
