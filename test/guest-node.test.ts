/**
 * The guest-runtime tier: the same agent bundle, run by Debian 12's Node 18 (the guest's
 * `nodejs`), through the whole workspace contract. scripts/guest-node.sh provides that
 * Node next to the host's own; in CI its absence is a failure, locally a skip.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AgentClient } from "../src/protocol/client.js";
import { readUntil, useTempState, waitForForeground, writeTree } from "./helpers.js";

const state = useTempState();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let guestNode: string | null = null;
let unavailable = "";
const saved = process.env.PYRO_AGENT_NODE;

beforeAll(() => {
  try {
    guestNode = execFileSync("bash", [path.join(root, "scripts", "guest-node.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
    process.env.PYRO_AGENT_NODE = guestNode;
  } catch (error) {
    unavailable = (error as { stderr?: string }).stderr || (error as Error).message;
    if (process.env.CI) {
      throw new Error(`the guest Node 18 runtime is required in CI: ${unavailable}`, {
        cause: error,
      });
    }
  }
}, 300_000);

afterAll(() => {
  if (saved === undefined) delete process.env.PYRO_AGENT_NODE;
  else process.env.PYRO_AGENT_NODE = saved;
});

function requireGuestNode(skip: (note?: string) => void): void {
  if (!guestNode) skip(`guest Node 18 unavailable: ${unavailable}`);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("the agent on the guest's Node 18", () => {
  it("boots and says which Node it runs on", async ({ skip }) => {
    requireGuestNode(skip);
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const record = JSON.parse(
      fs.readFileSync(manager.context.layout.workspaceRecord(workspace_id), "utf8"),
    ) as {
      runtime: { socket_path: string };
    };
    const { client, hello } = await AgentClient.connect(record.runtime.socket_path);
    client.close();
    expect(hello.node_version).toMatch(/^v18\./);
  });

  it("runs the workspace contract: seed, exec, sync, diff, export, snapshot, reset", async ({
    skip,
  }) => {
    requireGuestNode(skip);
    const manager = state.manager();
    const seed = writeTree(path.join(state.base(), "seed"), {
      "note.txt": "seed\n",
      "src/app.js": "one\n",
    });
    fs.symlinkSync("note.txt", path.join(seed, "link"));
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seed,
    });
    expect(
      (await manager.execWorkspace(workspace_id, { command: "cat note.txt; readlink link" }))
        .stdout,
    ).toBe("seed\nnote.txt\n");
    const update = writeTree(path.join(state.base(), "update"), { "app.js": "two\n" });
    const archive = path.join(state.base(), "update.tgz");
    await tar.c({ cwd: update, file: archive, gzip: true }, ["app.js"]);
    await manager.pushWorkspaceSync(workspace_id, { source_path: archive, dest: "src" });
    await manager.execWorkspace(workspace_id, {
      command: "mkdir empty && printf '\\0bin' > blob.bin",
    });
    const diff = await manager.diffWorkspace(workspace_id);
    expect(diff.summary).toMatchObject({ added: 2, modified: 1, text_patched: 1 });
    expect(diff.patch).toContain("-one\n+two\n");
    const output = path.join(state.base(), "out");
    await manager.exportWorkspace(workspace_id, { path: "/workspace", output_path: output });
    expect(fs.readlinkSync(path.join(output, "link"))).toBe("note.txt");
    expect(fs.statSync(path.join(output, "empty")).isDirectory()).toBe(true);
    await manager.createSnapshot(workspace_id, "mid");
    await manager.execWorkspace(workspace_id, { command: "rm -rf src" });
    const reset = await manager.resetWorkspace(workspace_id, { snapshot: "mid" });
    expect(reset.reset_count).toBe(1);
    expect((await manager.execWorkspace(workspace_id, { command: "cat src/app.js" })).stdout).toBe(
      "two\n",
    );
    const timedOut = await manager.execWorkspace(workspace_id, {
      command: "sleep 5",
      timeout_seconds: 1,
    });
    expect(timedOut.exit_code).toBe(124);
  });

  it("runs PTY shells and services with http readiness", async ({ skip }) => {
    requireGuestNode(skip);
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const shell = await manager.openShell(workspace_id, { cols: 91, rows: 17 });
    await manager.writeShell(workspace_id, shell.shell_id, { input: "tty; stty size; sleep 60" });
    expect(await readUntil(manager, workspace_id, shell.shell_id, "17 91")).toMatch(
      /\/dev\/pts\/\d+/,
    );
    await waitForForeground(shell.pid, "sleep");
    await manager.signalShell(workspace_id, shell.shell_id, { signal: "INT" });
    await manager.writeShell(workspace_id, shell.shell_id, { input: "echo after-$((6 * 7))" });
    expect(await readUntil(manager, workspace_id, shell.shell_id, "after-42")).toContain(
      "after-42",
    );
    // What attach needs: a resize (stty -F on the pty) and a read that waits for output.
    await manager.resizeShell(workspace_id, shell.shell_id, { cols: 66, rows: 11 });
    const end = (await manager.readShell(workspace_id, shell.shell_id)).buffer_end;
    const waiting = manager.readShell(workspace_id, shell.shell_id, {
      cursor: end,
      wait_seconds: 20,
    });
    await manager.writeShell(workspace_id, shell.shell_id, { input: "stty size" });
    // The waiting read returns with the first output after `end`: the echo of the input, or
    // bash redrawing its prompt for the SIGWINCH of the resize, whichever the guest sends first.
    const woken = await waiting;
    expect(woken.output).not.toBe("");
    expect(woken.next_cursor).toBeGreaterThan(end);
    const after = await readUntil(manager, workspace_id, shell.shell_id, "11 66", end);
    expect(after).toContain("stty size");
    expect(after).toContain("11 66");

    const port = await freePort();
    const server = `node -e "require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')"`;
    const started = await manager.startService(workspace_id, "web", {
      command: server,
      readiness: { type: "http", url: `http://127.0.0.1:${port}/` },
      ready_timeout_seconds: 20,
      ready_interval_ms: 100,
    });
    expect(started.state).toBe("running");
    const stopped = await manager.stopService(workspace_id, "web");
    expect(stopped.state).toBe("stopped");
  });
});
