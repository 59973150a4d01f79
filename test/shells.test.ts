// Persistent PTY shells on the host backend: real agent, real `script`-backed terminals.
// Ports the reference shell test and adds what the issue asks for: tty/stty, Ctrl-C,
// cross-process use, the bounded buffer, and delete/reset closing every shell.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { beforeEach, describe, expect, it } from "vitest";

import { processIsAlive } from "../src/process/process-group.js";
import { OutputBuffer } from "../src/agent/output-buffer.js";
import { ownedProcesses } from "../src/process/ownership.js";
import type { Manager } from "../src/runtime.js";

import { readUntil, useTempState, waitForForeground } from "./helpers.js";

const DIST_INDEX = fileURLToPath(new URL("../dist/runtime.js", import.meta.url));

// Temp state per test; every workspace left is deleted afterwards (see helpers.ts).
const state = useTempState();
let manager: Manager;

beforeEach(() => {
  manager = state.manager({ backend: "host" });
});

async function createWorkspace(): Promise<string> {
  const workspace = await manager.createWorkspace({ allow_host_compat: true });
  return workspace.workspace_id;
}

describe("shell lifecycle (reference)", () => {
  it("opens, writes, reads from another manager, closes, and goes away with the workspace", async () => {
    const id = await createWorkspace();
    const opened = await manager.openShell(id);
    expect(opened.state).toBe("running");
    expect([opened.cwd, opened.cols, opened.rows]).toEqual(["/workspace", 120, 30]);
    await manager.writeShell(id, opened.shell_id, { input: "pwd" });
    expect(await readUntil(manager, id, opened.shell_id, "/workspace")).toContain("/workspace");

    const rehydrated = state.manager({ backend: "host" });
    try {
      const second = await rehydrated.openShell(id);
      expect(second.shell_id).not.toBe(opened.shell_id);
      await rehydrated.writeShell(id, second.shell_id, { input: "printf 'o%s\\n' k" });
      expect(await readUntil(rehydrated, id, second.shell_id, "ok\r\n")).toContain("ok");
      // Shell input is not workspace exec: the command log stays empty.
      expect((await manager.logsWorkspace(id)).count).toBe(0);

      expect((await manager.closeShell(id, opened.shell_id)).closed).toBe(true);
      await expect(manager.readShell(id, opened.shell_id)).rejects.toThrow("does not exist");
      expect((await manager.deleteWorkspace(id)).deleted).toBe(true);
      await expect(rehydrated.readShell(id, second.shell_id)).rejects.toThrow("does not exist");
      expect(processIsAlive(second.pid)).toBe(false);
    } finally {
      rehydrated.close();
    }
  });
});

describe("a real terminal", () => {
  it("is a pty whose size matches cols and rows", async () => {
    const id = await createWorkspace();
    const shell = await manager.openShell(id, { cols: 100, rows: 40 });
    await manager.writeShell(id, shell.shell_id, { input: "tty; stty size" });
    const output = await readUntil(manager, id, shell.shell_id, /40 100\r\n/);
    expect(output).toMatch(/\/dev\/pts\/\d+/);

    const standard = await manager.openShell(id);
    await manager.writeShell(id, standard.shell_id, { input: "stty size" });
    expect(await readUntil(manager, id, standard.shell_id, /30 120\r\n/)).toMatch(/30 120/);
  });

  it("opens in a cwd under /workspace", async () => {
    const id = await createWorkspace();
    await manager.execWorkspace(id, { command: "mkdir -p sub/dir" });
    const shell = await manager.openShell(id, { cwd: "sub/dir" });
    expect(shell.cwd).toBe("/workspace/sub/dir");
    await manager.writeShell(id, shell.shell_id, { input: "pwd" });
    expect(await readUntil(manager, id, shell.shell_id, "/sub/dir\r\n")).toBeTruthy();
  });

  it("INT interrupts the foreground job and the shell survives (Ctrl-C)", async () => {
    const id = await createWorkspace();
    const shell = await manager.openShell(id);
    await manager.writeShell(id, shell.shell_id, { input: "echo started; sleep 100" });
    await readUntil(manager, id, shell.shell_id, "started\r\n");
    await waitForForeground(shell.pid, "sleep");
    const signalled = await manager.signalShell(id, shell.shell_id);
    expect(signalled.signal).toBe("INT");
    await manager.writeShell(id, shell.shell_id, { input: "echo after-$((1+1))" });
    await readUntil(manager, id, shell.shell_id, "after-2");
    expect((await manager.readShell(id, shell.shell_id)).state).toBe("running");

    // The keyboard way: a raw ^C byte through the line discipline.
    await manager.writeShell(id, shell.shell_id, { input: "echo again; sleep 100" });
    await readUntil(manager, id, shell.shell_id, "again\r\n");
    await waitForForeground(shell.pid, "sleep");
    await manager.writeShell(id, shell.shell_id, { input: "\u0003", append_newline: false });
    await manager.writeShell(id, shell.shell_id, { input: "echo done-$((2+2))" });
    await readUntil(manager, id, shell.shell_id, "done-4");
  });

  it("KILL ends an idle shell; it then reports exited and refuses input", async () => {
    const id = await createWorkspace();
    const shell = await manager.openShell(id);
    await manager.signalShell(id, shell.shell_id, { signal: "KILL" });
    const deadline = Date.now() + 5_000;
    let state = "running";
    while (state === "running" && Date.now() < deadline) {
      state = (await manager.readShell(id, shell.shell_id)).state;
    }
    expect(state).toBe("exited");
    await expect(manager.writeShell(id, shell.shell_id, { input: "true" })).rejects.toThrow(
      "not running",
    );
    expect((await manager.closeShell(id, shell.shell_id)).closed).toBe(true);
  });

  it("refuses bad input with field-named messages", async () => {
    const id = await createWorkspace();
    await expect(manager.openShell(id, { cols: 0 })).rejects.toThrow(
      "cols must be between 1 and 1000",
    );
    await expect(manager.openShell(id, { rows: 1.5 })).rejects.toThrow("rows must be between");
    await expect(manager.openShell(id, { cwd: "/etc" })).rejects.toThrow(
      "must stay inside /workspace",
    );
    await expect(manager.openShell(id, { cwd: "missing" })).rejects.toThrow("cwd does not exist");
    const shell = await manager.openShell(id);
    await expect(
      manager.signalShell(id, shell.shell_id, { signal: "USR1" as "INT" }),
    ).rejects.toThrow("signal must be one of: HUP, INT, TERM, KILL");
    await expect(manager.readShell(id, shell.shell_id, { max_chars: 0 })).rejects.toThrow(
      "max_chars",
    );
    await expect(manager.readShell(id, shell.shell_id, { cursor: 10 ** 9 })).rejects.toThrow(
      "past the end",
    );
    await expect(manager.readShell(id, "nope")).rejects.toThrow("does not exist");
    await expect(manager.writeShell(id, "../x", { input: "x" })).rejects.toThrow("does not exist");
  });
});

describe("shell output buffer", () => {
  it("pages through output with absolute, monotonic cursors", async () => {
    const id = await createWorkspace();
    const shell = await manager.openShell(id);
    await manager.writeShell(id, shell.shell_id, { input: "seq 1 2000; echo END-$((1+1))" });
    await readUntil(manager, id, shell.shell_id, "END-2\r\n");
    let cursor = 0;
    let text = "";
    for (;;) {
      const page = await manager.readShell(id, shell.shell_id, { cursor, max_chars: 1000 });
      expect(page.cursor).toBe(cursor);
      expect(page.output.length).toBeLessThanOrEqual(1000);
      text += page.output;
      cursor = page.next_cursor;
      if (!page.truncated) break;
    }
    expect(text).toContain("1999\r\n2000\r\nEND-2\r\n");
  });

  it("drops the oldest output past the bound and says so", async () => {
    const id = await createWorkspace();
    const shell = await manager.openShell(id);
    await manager.writeShell(id, shell.shell_id, {
      input: "head -c 1500000 /dev/zero | tr '\\0' x; echo; echo FLOOD-$((3*3))",
    });
    // Watch only the end of the output while the flood goes by.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const end = (await manager.readShell(id, shell.shell_id, { max_chars: 1 })).buffer_end;
      const tail = await manager.readShell(id, shell.shell_id, { cursor: Math.max(0, end - 100) });
      if (tail.output.includes("FLOOD-9") || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const first = await manager.readShell(id, shell.shell_id, { cursor: 0, max_chars: 10 });
    expect(first.buffer_start).toBeGreaterThan(0);
    expect(first.cursor).toBe(first.buffer_start);
    expect(first.dropped_chars).toBe(first.buffer_start);
    expect(first.output).toBe("xxxxxxxxxx");
    expect(first.truncated).toBe(true);
    expect(first.buffer_end - first.buffer_start).toBeLessThanOrEqual(1024 * 1024);
    const last = await manager.readShell(id, shell.shell_id, { cursor: first.buffer_end - 20 });
    expect(last.output).toContain("FLOOD-9");
    expect(last.next_cursor).toBe(first.buffer_end);
  });

  it("keeps absolute offsets across drops (unit)", () => {
    const buffer = new OutputBuffer(10);
    buffer.append("0123456789");
    buffer.append("abcde");
    expect([buffer.oldest, buffer.end]).toEqual([5, 15]);
    expect(buffer.read(0, 100)).toMatchObject({
      output: "56789abcde",
      cursor: 5,
      next_cursor: 15,
      dropped_chars: 5,
    });
    expect(buffer.read(12, 2)).toMatchObject({
      output: "cd",
      cursor: 12,
      next_cursor: 14,
      truncated: true,
    });
    expect(buffer.read(15, 5)).toMatchObject({ output: "", next_cursor: 15, truncated: false });
    // A surrogate pair is never split at the end of a page.
    const emoji = new OutputBuffer(100);
    emoji.append("a\u{1F600}b");
    expect(emoji.read(0, 2)).toMatchObject({ output: "a", next_cursor: 1 });
    expect(emoji.read(1, 2).output).toBe("\u{1F600}");
  });
});

describe("shells across processes and lifecycles", () => {
  it("a shell opened here is written and read by a separate OS process", async () => {
    const id = await createWorkspace();
    const shell = await manager.openShell(id);
    const script = `
      const { Manager } = await import(process.env.PYRO_DIST);
      const m = new Manager({ baseDir: process.env.PYRO_BASE, backend: "host" });
      const [id, shell] = [process.env.PYRO_WS, process.env.PYRO_SHELL];
      await m.writeShell(id, shell, { input: "printf 'from-%s\\\\n' child" });
      let seen = false;
      for (let i = 0; i < 200 && !seen; i++) {
        seen = (await m.readShell(id, shell)).output.includes("from-child");
        if (!seen) await new Promise((r) => setTimeout(r, 25));
      }
      console.log(JSON.stringify({ seen }));
      m.close();
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "-e", script],
      {
        env: {
          ...process.env,
          PYRO_DIST: DIST_INDEX,
          PYRO_BASE: state.stateDir(),
          PYRO_WS: id,
          PYRO_SHELL: shell.shell_id,
        },
        timeout: 20_000,
      },
    );
    expect(JSON.parse(stdout.trim())).toEqual({ seen: true });
    const here = await readUntil(manager, id, shell.shell_id, "from-child\r\n");
    // Two readers at once see the same bytes at the same offsets.
    const other = state.manager({ backend: "host" });
    try {
      const [a, b] = await Promise.all([
        manager.readShell(id, shell.shell_id, { cursor: 5 }),
        other.readShell(id, shell.shell_id, { cursor: 5 }),
      ]);
      expect(a.output).toBe(b.output);
      expect(a.output).toBe(here.slice(5));
    } finally {
      other.close();
    }
  });

  it("reset closes every shell", async () => {
    const id = await createWorkspace();
    const shell = await manager.openShell(id);
    await manager.writeShell(id, shell.shell_id, {
      input: "sleep 300 & setsid sleep 301 & echo $PYRO_OWNER",
    });
    const token =
      (await readUntil(manager, id, shell.shell_id, /\n[0-9a-f]{16}\r\n/)).match(
        /\n([0-9a-f]{16})\r\n/,
      )?.[1] ?? null;
    expect(token).not.toBeNull();
    await manager.resetWorkspace(id);
    await expect(manager.readShell(id, shell.shell_id)).rejects.toThrow("does not exist");
    expect(processIsAlive(shell.pid)).toBe(false);
    // Background jobs went with it, including one that left the terminal's session.
    expect(ownedProcesses({ sid: shell.pid, marker: `PYRO_OWNER=${token}` })).toEqual([]);
    const fresh = await manager.openShell(id);
    expect(fresh.state).toBe("running");
  });
});
