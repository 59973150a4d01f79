// What an attached terminal needs from the shell operations, on the host backend's real
// agent: reads that wait for output (wait_seconds) instead of being polled, and resizes
// that reach the PTY and its foreground job (SIGWINCH). The attach sessions themselves are
// driven under tmux in test/attach-tmux.test.ts.
import { beforeEach, describe, expect, it } from "vitest";

import type { Manager } from "../src/runtime.js";

import { readUntil, useTempState, waitForForeground } from "./helpers.js";

const state = useTempState();
let manager: Manager;

beforeEach(() => {
  manager = state.manager({ backend: "host" });
});

async function idleShell(): Promise<{ id: string; shellId: string; cursor: number }> {
  const { workspace_id: id } = await manager.createWorkspace({ allow_host_compat: true });
  const shell = await manager.openShell(id, { cols: 100, rows: 40 });
  await manager.writeShell(id, shell.shell_id, { input: "echo rea''dy" });
  await readUntil(manager, id, shell.shell_id, /ready\r\n.*# $/s);
  const end = (await manager.readShell(id, shell.shell_id)).buffer_end;
  return { id, shellId: shell.shell_id, cursor: end };
}

describe("shell_read wait_seconds (long poll)", () => {
  it("answers as soon as the shell prints, not at the deadline", async () => {
    const { id, shellId, cursor } = await idleShell();
    const started = Date.now();
    const reading = manager.readShell(id, shellId, { cursor, wait_seconds: 20 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await manager.writeShell(id, shellId, { input: "echo wo''ke" });
    const result = await reading;
    expect(result.output).toContain("echo wo");
    // Well before the 20 s deadline; without the wait, it would have come back empty.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.next_cursor).toBeGreaterThan(cursor);
  });

  it("comes back empty at the deadline, and at once when output is already there", async () => {
    const { id, shellId, cursor } = await idleShell();
    const started = Date.now();
    const quiet = await manager.readShell(id, shellId, { cursor, wait_seconds: 0.5 });
    expect(quiet.output).toBe("");
    expect(quiet.next_cursor).toBe(cursor);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);

    const early = Date.now();
    const old = await manager.readShell(id, shellId, { cursor: 0, wait_seconds: 20 });
    expect(old.output).toContain("ready");
    expect(Date.now() - early).toBeLessThan(5_000);
  });

  it("answers when the shell exits", async () => {
    const { id, shellId, cursor } = await idleShell();
    const reading = manager.readShell(id, shellId, { cursor, wait_seconds: 20 });
    await manager.writeShell(id, shellId, { input: "exit 5" });
    let result = await reading;
    // The echo of "exit 5" may come first; the read after it sees the exit.
    while (result.state !== "exited") {
      result = await manager.readShell(id, shellId, {
        cursor: result.next_cursor,
        wait_seconds: 20,
      });
    }
    expect(result.exit_code).toBe(5);
  });

  it("a waiting read fails when its manager is closed, instead of reconnecting and waiting on", async () => {
    const { id, shellId, cursor } = await idleShell();
    const started = Date.now();
    const reading = manager.readShell(id, shellId, { cursor, wait_seconds: 20 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    manager.close();
    // Before, the pool took the closed connection for a stale one and retried the read on
    // a new connection: `pyro workspace attach` then hung for up to 25 s after a detach.
    await expect(reading).rejects.toMatchObject({ code: "backend_error" });
    expect(Date.now() - started).toBeLessThan(10_000);
    // A closed manager still works for new calls (it only dropped its connections).
    expect((await manager.readShell(id, shellId, { cursor })).output).toBe("");
  });

  it("refuses a wait outside 0-30 s, naming the field", async () => {
    const { id, shellId } = await idleShell();
    for (const wait of [-1, 31, Number.NaN]) {
      await expect(manager.readShell(id, shellId, { wait_seconds: wait })).rejects.toMatchObject({
        code: "invalid_argument",
        message: expect.stringContaining(`wait_seconds must be a number between 0 and 30, got`),
      });
    }
  });
});

describe("shell_resize", () => {
  it("changes the PTY's size and sends SIGWINCH to the foreground job", async () => {
    const { id, shellId, cursor } = await idleShell();
    const shell = (await manager.readShell(id, shellId)).pid;
    // A foreground job that reports its window-size signals and the size it then sees.
    await manager.writeShell(id, shellId, {
      input: `sh -c 'trap "echo WINCH \\$(stty size)" WINCH; echo waiting; while :; do sleep 0.1; done'`,
    });
    await readUntil(manager, id, shellId, "waiting", cursor);
    await waitForForeground(shell, "sleep");
    const resized = await manager.resizeShell(id, shellId, { cols: 77, rows: 22 });
    expect([resized.cols, resized.rows]).toEqual([77, 22]);
    expect(await readUntil(manager, id, shellId, "WINCH 22 77", cursor)).toContain("WINCH 22 77");
    await manager.signalShell(id, shellId, { signal: "INT" });

    // One dimension alone keeps the other; the shell reports the new size.
    expect((await manager.resizeShell(id, shellId, { rows: 33 })).cols).toBe(77);
    const after = (await manager.readShell(id, shellId)).buffer_end;
    await manager.writeShell(id, shellId, { input: "stty size" });
    expect(await readUntil(manager, id, shellId, "33 77\r\n", after)).toContain("33 77");
  });

  it("refuses sizes out of range and unknown shells", async () => {
    const { id, shellId } = await idleShell();
    await expect(manager.resizeShell(id, shellId, { cols: 0 })).rejects.toThrow(
      "cols must be between 1 and 1000, got 0",
    );
    await expect(manager.resizeShell(id, shellId, { rows: 1001 })).rejects.toThrow(
      "rows must be between 1 and 1000, got 1001",
    );
    await expect(manager.resizeShell(id, "0123abcd", { rows: 10 })).rejects.toMatchObject({
      code: "not_found",
    });
  });
});
