// Named services on the host backend: real agent processes, real service processes.
// Ports the service tests of reference_test_vm_manager.py.txt, plus the failure modes the
// issue names (readiness that never comes, floods, reset, orphans of a dead agent).
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { beforeEach, describe, expect, it } from "vitest";

import { WorkspacePaths } from "../src/shared/guest-paths.js";
import { processIsAlive } from "../src/process/process-group.js";
import { probeReadiness, runProbeCommand } from "../src/agent/readiness.js";
import { normalizeReadiness } from "../src/shared/readiness.js";
import { LogSink, tailText } from "../src/agent/service-log.js";
import { killOwned, ownedProcesses } from "../src/process/ownership.js";
import { checkName } from "../src/shared/limits.js";
import type { Manager } from "../src/runtime.js";

import { useTempState } from "./helpers.js";

// Temp state per test; every workspace left is deleted afterwards (see helpers.ts).
const state = useTempState();
let manager: Manager;

beforeEach(() => {
  manager = state.manager({ backend: "host" });
});

async function createWorkspace(seedPath?: string): Promise<string> {
  const workspace = await manager.createWorkspace({ allow_host_compat: true, seed_path: seedPath });
  return workspace.workspace_id;
}

function workspaceDir(id: string): string {
  return path.join(state.stateDir(), "workspaces", id);
}

async function waitFor<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    value = await probe();
  }
  return value;
}

/** The PYRO_OWNER token every process of a service carries (from its host mirror). */
function ownerToken(id: string, name: string): string {
  return JSON.parse(
    fs.readFileSync(path.join(workspaceDir(id), "services", `${name}.json`), "utf8"),
  ).owner_token;
}

/** No live process with this pid, none left in its session, none carrying its token. */
async function expectGone(pid: number, token: string | null = null): Promise<void> {
  const marker = token === null ? null : `PYRO_OWNER=${token}`;
  const gone = await waitFor(
    () => !processIsAlive(pid) && ownedProcesses({ sid: pid, marker }).length === 0,
    (value) => value,
  );
  expect(gone).toBe(true);
}

const READY_LOOP = "sh -lc 'touch .ready; while true; do sleep 60; done'";
const FILE_READY = { type: "file", path: ".ready" } as const;

describe("service lifecycle (reference)", () => {
  it("starts once ready, lists, reports status, logs and counts, and stops", async () => {
    const id = await createWorkspace();
    const started = await manager.startService(id, "app", {
      command: `sh -lc 'printf "service ready\\n"; touch .ready; while true; do sleep 60; done'`,
      readiness: FILE_READY,
    });
    expect(started.state).toBe("running");
    expect(started.readiness).toEqual({ type: "file", path: "/workspace/.ready" });

    const listed = await manager.listServices(id);
    expect(listed.count).toBe(1);
    expect(listed.running_count).toBe(1);
    const status = await manager.statusService(id, "app");
    expect(status.state).toBe("running");
    expect(status.ready_at).not.toBeNull();
    expect(status.pid).toBeGreaterThan(0);
    const logs = await manager.logsService(id, "app");
    expect(logs.stdout).toContain("service ready");

    const workspace = await manager.statusWorkspace(id);
    expect(workspace.service_count).toBe(1);
    expect(workspace.running_service_count).toBe(1);

    const stopped = await manager.stopService(id, "app");
    expect(stopped.state).toBe("stopped");
    expect(["sigterm", "sigkill"]).toContain(stopped.stop_reason);
    expect(stopped.ended_at).not.toBeNull();
    await expectGone(started.pid);
    expect((await manager.statusWorkspace(id)).running_service_count).toBe(0);
  });

  it("replaces a non-running record and refuses a second running one", async () => {
    const id = await createWorkspace();
    const failed = await manager.startService(id, "app", {
      command: "sh -lc 'exit 2'",
      readiness: FILE_READY,
      ready_timeout_seconds: 1,
      ready_interval_ms: 50,
    });
    expect(failed.state).toBe("failed");
    expect(failed.exit_code).toBe(2);
    expect(failed.failure_reason).toContain("exited with code 2");

    const started = await manager.startService(id, "app", {
      command: READY_LOOP,
      readiness: FILE_READY,
    });
    expect(started.state).toBe("running");
    expect(started.pid).not.toBe(failed.pid);
    await expect(manager.startService(id, "app", { command: READY_LOOP })).rejects.toThrow(
      /already running/,
    );
    expect((await manager.listServices(id)).count).toBe(1);
  });

  it("supports command readiness", async () => {
    const id = await createWorkspace();
    const started = await manager.startService(id, "command-ready", {
      command: "sh -lc 'touch command.ready; while true; do sleep 60; done'",
      readiness: { type: "command", command: "test -f command.ready" },
      ready_interval_ms: 50,
    });
    expect(started.state).toBe("running");
    const listed = await manager.listServices(id);
    expect([listed.count, listed.running_count]).toEqual([1, 1]);
    const workspace = await manager.statusWorkspace(id);
    expect([workspace.service_count, workspace.running_service_count]).toEqual([1, 1]);
    expect((await manager.stopService(id, "command-ready")).state).toBe("stopped");
  });

  it("tails logs and removes the services dir on delete", async () => {
    const id = await createWorkspace();
    const started = await manager.startService(id, "logger", {
      command: `sh -lc 'printf "one\\n"; printf "two\\n"; touch .ready; while true; do sleep 60; done'`,
      readiness: FILE_READY,
    });
    const tail = await manager.logsService(id, "logger", { tail_lines: 1 });
    expect(tail.stdout).toBe("two\n");
    expect(tail.truncated).toBe(true);
    const all = await manager.logsService(id, "logger", { all: true });
    expect(all.stdout).toBe("one\ntwo\n");
    expect(all.truncated).toBe(false);

    const servicesDir = path.join(workspaceDir(id), "services");
    expect(fs.existsSync(path.join(servicesDir, "logger.json"))).toBe(true);
    expect((await manager.deleteWorkspace(id)).deleted).toBe(true);
    expect(fs.existsSync(servicesDir)).toBe(false);
    await expectGone(started.pid);
  });

  it("reports a stopped workspace's services as stopped (workspace_stopped)", async () => {
    const id = await createWorkspace();
    await manager.startService(id, "app", { command: READY_LOOP, readiness: FILE_READY });
    const servicePath = path.join(workspaceDir(id), "services", "app.json");
    const livePid = Number(JSON.parse(fs.readFileSync(servicePath, "utf8")).pid);
    try {
      const recordPath = path.join(workspaceDir(id), "workspace.json");
      const record = JSON.parse(fs.readFileSync(recordPath, "utf8"));
      record.state = "stopped";
      fs.writeFileSync(recordPath, JSON.stringify(record, null, 2));

      const status = await manager.statusWorkspace(id);
      expect(status.state).toBe("stopped");
      expect(status.service_count).toBe(1);
      expect(status.running_service_count).toBe(0);
      const mirror = JSON.parse(fs.readFileSync(servicePath, "utf8"));
      expect(mirror.state).toBe("stopped");
      expect(mirror.stop_reason).toBe("workspace_stopped");
      const service = await manager.statusService(id, "app");
      expect([service.state, service.stop_reason]).toEqual(["stopped", "workspace_stopped"]);
    } finally {
      await killOwned(livePid, "SIGKILL", 500);
    }
  });
});

describe("service failure modes", () => {
  it("fails a service whose readiness never comes, within the timeout, leaving no process", async () => {
    const id = await createWorkspace();
    const startedAt = Date.now();
    const failed = await manager.startService(id, "never", {
      // A helper that left the service's session (a daemon) must be swept too.
      command: "sh -c 'setsid sleep 300 & sleep 300'",
      readiness: { type: "tcp", address: "127.0.0.1:1" },
      ready_timeout_seconds: 1,
      ready_interval_ms: 50,
    });
    expect(failed.state).toBe("failed");
    expect(failed.failure_reason).toMatch(/did not succeed within 1 seconds/);
    expect(Date.now() - startedAt).toBeLessThan(6_000);
    await expectGone(failed.pid, ownerToken(id, "never"));
    expect((await manager.statusWorkspace(id)).running_service_count).toBe(0);
  });

  it("records exited with the exit code when a running service ends on its own", async () => {
    const id = await createWorkspace();
    const started = await manager.startService(id, "short", {
      command: "sh -c 'touch .ready; sleep 0.3; exit 9'",
      readiness: FILE_READY,
      ready_interval_ms: 20,
    });
    expect(started.state).toBe("running");
    const status = await waitFor(
      () => manager.statusService(id, "short"),
      (value) => value.state === "exited",
    );
    expect(status.state).toBe("exited");
    expect(status.exit_code).toBe(9);
    expect(status.stop_reason).toBeNull();
  });

  it("escalates to SIGKILL when a service ignores SIGTERM", async () => {
    const id = await createWorkspace();
    const started = await manager.startService(id, "stubborn", {
      command: "sh -c 'trap \"\" TERM; touch .ready; while true; do sleep 0.1; done'",
      readiness: FILE_READY,
      ready_interval_ms: 20,
    });
    const stopped = await manager.stopService(id, "stubborn");
    expect(stopped.state).toBe("stopped");
    expect(stopped.stop_reason).toBe("sigkill");
    await expectGone(started.pid);
  });

  it("keeps the logs of a flooding service bounded on disk", async () => {
    const id = await createWorkspace();
    // ~6 MB of numbered lines, far more than a stream keeps.
    await manager.startService(id, "flood", {
      command: "sh -c 'seq 1 800000; touch .ready; while true; do sleep 60; done'",
      readiness: FILE_READY,
      ready_interval_ms: 20,
    });
    const logDir = path.join(workspaceDir(id), "runtime", "agent-state", "services", "flood");
    const onDisk = fs
      .readdirSync(logDir)
      .reduce((sum, name) => sum + fs.statSync(path.join(logDir, name)).size, 0);
    expect(onDisk).toBeLessThanOrEqual(2 * 2 * 256 * 1024);

    const all = await manager.logsService(id, "flood", { all: true });
    expect(all.truncated).toBe(true);
    expect(all.stdout.length).toBeLessThanOrEqual(2 * 256 * 1024);
    expect(all.stdout.endsWith("800000\n")).toBe(true);
    // Whole lines only, even right after a rotation boundary.
    expect(all.stdout.split("\n")[0]).toMatch(/^\d+$/);
    const tail = await manager.logsService(id, "flood");
    expect(tail.stdout.split("\n")).toHaveLength(201);
    expect(tail.truncated).toBe(true);
  });

  it("refuses bad input with field-named messages before touching the sandbox", async () => {
    const id = await createWorkspace();
    await expect(manager.startService(id, " ", { command: "true" })).rejects.toThrow(
      "service_name must not be empty",
    );
    await expect(manager.startService(id, "bad name", { command: "true" })).rejects.toThrow(
      "service_name must match",
    );
    await expect(manager.startService(id, "app", { command: " " })).rejects.toThrow(
      "command must not be empty",
    );
    await expect(
      manager.startService(id, "app", { command: "true", readiness: { type: "bogus" } }),
    ).rejects.toThrow("one of: file, tcp, http, command");
    await expect(
      manager.startService(id, "app", {
        command: "true",
        readiness: { type: "tcp", address: "nope" },
      }),
    ).rejects.toThrow("HOST:PORT format");
    await expect(manager.startService(id, "app", { command: "true", cwd: "/etc" })).rejects.toThrow(
      "must stay inside /workspace",
    );
    await expect(
      manager.startService(id, "app", { command: "true", ready_timeout_seconds: 0 }),
    ).rejects.toThrow("ready_timeout_seconds must be positive");
    await expect(manager.statusService(id, "missing")).rejects.toThrow("does not exist");
    await expect(manager.logsService(id, "missing")).rejects.toThrow("does not exist");
    expect((await manager.listServices(id)).count).toBe(0);
  });

  it("kills services and shells orphaned by a dead agent once the workspace is found stopped", async () => {
    const id = await createWorkspace();
    const started = await manager.startService(id, "orphan", {
      command: "sh -c 'setsid sleep 300 & touch .ready; while true; do sleep 60; done'",
      readiness: FILE_READY,
    });
    const token = ownerToken(id, "orphan");
    // A shell busy with a foreground job does not notice its relay losing stdin.
    const shell = await manager.openShell(id);
    await manager.writeShell(id, shell.shell_id, { input: "sleep 300" });
    const record = JSON.parse(
      fs.readFileSync(path.join(workspaceDir(id), "workspace.json"), "utf8"),
    );
    process.kill(record.runtime.pid, "SIGKILL");
    await waitFor(
      () => processIsAlive(record.runtime.pid),
      (alive) => !alive,
    );
    const status = await manager.statusWorkspace(id);
    expect(status.state).toBe("stopped");
    expect([status.service_count, status.running_service_count]).toEqual([1, 0]);
    await expectGone(started.pid, token);
    await expectGone(shell.pid);
    const stateDir = path.join(workspaceDir(id), "runtime", "agent-state");
    expect(ownedProcesses({ sid: -1, marker: `PYRO_SANDBOX=${stateDir}` })).toEqual([]);
  });
});

describe("services, diff, export and reset", () => {
  it("keeps service state and logs out of diff and export", async () => {
    const id = await createWorkspace();
    await manager.startService(id, "app", {
      command: `sh -c 'echo hello-log; touch .ready; while true; do sleep 60; done'`,
      readiness: FILE_READY,
    });
    const diff = await manager.diffWorkspace(id);
    expect(diff.entries.map((entry) => entry.path)).toEqual([".ready"]);
    const output = path.join(state.base(), "export");
    await manager.exportWorkspace(id, { path: "/workspace", output_path: output });
    expect(fs.readdirSync(output)).toEqual([".ready"]);
  });

  it("reset clears a running service and an open shell (snapshot/reset round trip)", async () => {
    const seed = path.join(state.base(), "seed");
    fs.mkdirSync(seed);
    fs.writeFileSync(path.join(seed, "note.txt"), "seed\n");
    const id = await createWorkspace(seed);
    await manager.execWorkspace(id, { command: "printf 'checkpoint\\n' > note.txt" });
    const snapshot = await manager.createSnapshot(id, "checkpoint");
    expect(snapshot.snapshot.snapshot_name).toBe("checkpoint");
    await manager.execWorkspace(id, { command: "printf 'after\\n' > note.txt" });
    const service = await manager.startService(id, "app", {
      command: READY_LOOP,
      readiness: FILE_READY,
    });
    const shell = await manager.openShell(id);

    const reset = await manager.resetWorkspace(id, { snapshot: "checkpoint" });
    expect(reset.workspace_reset?.snapshot_name).toBe("checkpoint");
    expect(reset.reset_count).toBe(1);
    expect(reset.last_command).toBeNull();
    expect(reset.command_count).toBe(0);
    expect(reset.service_count).toBe(0);
    expect(reset.running_service_count).toBe(0);
    await expectGone(service.pid);
    expect(processIsAlive(shell.pid)).toBe(false);
    expect(fs.existsSync(path.join(workspaceDir(id), "services", "app.json"))).toBe(false);
    await expect(manager.readShell(id, shell.shell_id)).rejects.toThrow("does not exist");
    await expect(manager.statusService(id, "app")).rejects.toThrow("does not exist");
    expect((await manager.listServices(id)).count).toBe(0);

    expect((await manager.execWorkspace(id, { command: "cat note.txt" })).stdout).toBe(
      "checkpoint\n",
    );
    expect((await manager.logsWorkspace(id)).count).toBe(1);
    const baseline = await manager.resetWorkspace(id);
    expect(baseline.workspace_reset?.snapshot_name).toBe("baseline");
    expect([baseline.reset_count, baseline.command_count, baseline.service_count]).toEqual([
      2, 0, 0,
    ]);
    expect((await manager.logsWorkspace(id)).count).toBe(0);
    expect((await manager.execWorkspace(id, { command: "cat note.txt" })).stdout).toBe("seed\n");
    expect((await manager.diffWorkspace(id)).changed).toBe(false);
    expect((await manager.deleteSnapshot(id, "checkpoint")).deleted).toBe(true);
    expect((await manager.listSnapshots(id)).snapshots.map((item) => item.snapshot_name)).toEqual([
      "baseline",
    ]);
  });
});

describe("readiness probes run in the agent", () => {
  it("probes tcp and http readiness end to end against a real server", async () => {
    const id = await createWorkspace();
    const port = await freePort();
    const server = `require('http').createServer((q, s) => { s.writeHead(q.url === '/down' ? 500 : 204); s.end(); }).listen(${port}, '127.0.0.1')`;
    const command = `'${process.execPath}' -e "${server}"`;
    const tcp = await manager.startService(id, "tcp", {
      command,
      readiness: { type: "tcp", address: `127.0.0.1:${port}` },
      ready_interval_ms: 50,
    });
    expect(tcp.state).toBe("running");
    await manager.stopService(id, "tcp");
    const httpReady = await manager.startService(id, "http", {
      command,
      readiness: { type: "http", url: `http://127.0.0.1:${port}/` },
      ready_interval_ms: 50,
    });
    expect(httpReady.state).toBe("running");
    await manager.stopService(id, "http");
    const down = await manager.startService(id, "down", {
      command,
      readiness: { type: "http", url: `http://127.0.0.1:${port}/down` },
      ready_timeout_seconds: 1,
      ready_interval_ms: 50,
    });
    expect(down.state).toBe("failed");
    await expectGone(down.pid);
  });

  it("file, tcp, http and command probes answer directly (helper probes)", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-"));
    const paths = new WorkspacePaths(root);
    const context = { paths, cwdLocal: root };
    try {
      expect(await probeReadiness({ type: "file", path: "/workspace/probe.ready" }, context)).toBe(
        false,
      );
      fs.writeFileSync(path.join(root, "probe.ready"), "ok\n");
      expect(await probeReadiness({ type: "file", path: "/workspace/probe.ready" }, context)).toBe(
        true,
      );

      const tcpServer = net.createServer((socket) => socket.end());
      const tcpPort = await listen(tcpServer);
      expect(await probeReadiness({ type: "tcp", address: `127.0.0.1:${tcpPort}` }, context)).toBe(
        true,
      );
      await new Promise((resolve) => tcpServer.close(resolve));
      expect(await probeReadiness({ type: "tcp", address: `127.0.0.1:${tcpPort}` }, context)).toBe(
        false,
      );

      let status = 204;
      const httpServer = http.createServer((_request, response) => {
        response.writeHead(status, status === 302 ? { location: "/elsewhere" } : {});
        response.end();
      });
      const httpPort = await listen(httpServer);
      const url = `http://127.0.0.1:${httpPort}/`;
      expect(await probeReadiness({ type: "http", url }, context)).toBe(true);
      status = 302;
      expect(await probeReadiness({ type: "http", url }, context)).toBe(true);
      status = 503;
      expect(await probeReadiness({ type: "http", url }, context)).toBe(false);
      await new Promise((resolve) => httpServer.close(resolve));

      expect(await runProbeCommand(root, "exit 3")).toBe(3);
      expect(
        await probeReadiness({ type: "command", command: "test -f probe.ready" }, context),
      ).toBe(true);
      expect(await probeReadiness({ type: "command", command: "test -f missing" }, context)).toBe(
        false,
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("service helpers", () => {
  it("normalises service names and readiness like the reference", () => {
    expect(checkName("service_name", "app-1")).toBe("app-1");
    expect(() => checkName("service_name", " ")).toThrow("service_name must not be empty");
    expect(() => checkName("service_name", "bad name")).toThrow("service_name must match");

    expect(normalizeReadiness({ type: "file", path: "subdir/.ready" })).toEqual({
      type: "file",
      path: "/workspace/subdir/.ready",
    });
    expect(normalizeReadiness({ type: "file", path: ".ready" }, "/workspace/app")).toEqual({
      type: "file",
      path: "/workspace/app/.ready",
    });
    expect(normalizeReadiness({ type: "tcp", address: "127.0.0.1:8080" })).toEqual({
      type: "tcp",
      address: "127.0.0.1:8080",
    });
    expect(normalizeReadiness({ type: "tcp", address: "[::1]:8080" })).toEqual({
      type: "tcp",
      address: "[::1]:8080",
    });
    expect(normalizeReadiness({ type: "http", url: "http://127.0.0.1:8080/" })).toEqual({
      type: "http",
      url: "http://127.0.0.1:8080/",
    });
    expect(normalizeReadiness({ type: "command", command: "test -f .ready" })).toEqual({
      type: "command",
      command: "test -f .ready",
    });
    expect(normalizeReadiness(null)).toBeNull();

    expect(() => normalizeReadiness({ type: "bogus" })).toThrow("one of: file, tcp, http, command");
    expect(() => normalizeReadiness({ type: "file" })).toThrow("required for file readiness");
    expect(() => normalizeReadiness({ type: "tcp", address: "127.0.0.1" })).toThrow(
      "HOST:PORT format",
    );
    expect(() => normalizeReadiness({ type: "tcp", address: "127.0.0.1:70000" })).toThrow(
      "HOST:PORT format",
    );
    expect(() => normalizeReadiness({ type: "http" })).toThrow("required for http readiness");
    expect(() => normalizeReadiness({ type: "http", url: "ftp://x/" })).toThrow("readiness.url");
    expect(() => normalizeReadiness({ type: "command" })).toThrow("required for command readiness");
    expect(() => normalizeReadiness({ type: "file", path: "../outside" })).toThrow(
      "must stay inside /workspace",
    );
  });

  it("tails text by lines", () => {
    expect(tailText("", 10)).toEqual({ text: "", truncated: false });
    expect(tailText("one\ntwo\nthree\n", null)).toEqual({
      text: "one\ntwo\nthree\n",
      truncated: false,
    });
    expect(tailText("one\ntwo\nthree\n", 5)).toEqual({
      text: "one\ntwo\nthree\n",
      truncated: false,
    });
    expect(tailText("one\ntwo\nthree\n", 1)).toEqual({ text: "three\n", truncated: true });
    expect(tailText("one\ntwo", 1)).toEqual({ text: "two", truncated: true });
  });

  it("bounds a log file by rotating it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-"));
    try {
      const sink = new LogSink(path.join(dir, "out.log"), 100);
      const lines = Array.from({ length: 100 }, (_, index) => `line ${index}\n`).join("");
      await new Promise<void>((resolve, reject) =>
        sink.end(lines, () => resolve()).once("error", reject),
      );
      const total = fs
        .readdirSync(dir)
        .reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
      expect(total).toBeLessThanOrEqual(200);
      expect(sink.rotated).toBe(true);
      const kept = sink.readAll();
      expect(kept.endsWith("line 99\n")).toBe(true);
      expect(kept.split("\n")[0]).toMatch(/^line \d+$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops process groups: a missing one is a no-op, a stubborn one gets SIGKILL", async () => {
    expect(await killOwned(2 ** 22 + 12345, "SIGTERM", 100)).toEqual({
      signalled: false,
      killed: false,
    });
    const child = spawn("sh", ["-c", "trap '' TERM; while true; do sleep 0.1; done"], {
      detached: true,
      stdio: "ignore",
    });
    const pid = child.pid as number;
    // Two members means sh has run its trap and forked its first sleep.
    await waitFor(
      () => ownedProcesses(pid).length,
      (count) => count >= 2,
    );
    expect(await killOwned(pid, "SIGTERM", 300)).toEqual({ signalled: true, killed: true });
    expect(ownedProcesses(pid)).toEqual([]);
  });
});

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}
