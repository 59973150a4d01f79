/**
 * The CLI's long-running reads and exit statuses, as real processes on the host backend:
 * `--follow` on `shell read`, `service logs` and `workspace logs` streams until the shell,
 * service or workspace ends (or Ctrl-C: 130); `service start` exits 1 when the service
 * failed; progress lines carry the elapsed time.
 */
import { spawn, spawnSync } from "node:child_process";

import { describe, expect, it } from "vitest";

import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();

function pyro(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    env: pyroEnv(state.stateDir()),
  });
}

/** A CLI process left running: its output so far, and its end. */
function follow(...args: string[]) {
  const child = spawn(process.execPath, [cliPath, ...args], { env: pyroEnv(state.stateDir()) });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out.stderr += chunk.toString()));
  const ended = new Promise<number | null>((resolve) => child.on("close", resolve));
  /** Waits until stdout holds `text` ("" : anything at all). */
  const sees = async (text: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!out.stdout.includes(text) || out.stdout === "") {
      if (Date.now() > deadline) throw new Error(`never printed ${text}: ${JSON.stringify(out)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, out, ended, sees };
}

function createWorkspace(): string {
  const created = pyro("workspace", "create", "debian:12", "--allow-host-compat", "--id-only");
  expect(created.status, created.stderr).toBe(0);
  return created.stdout.trim();
}

describe("--follow", () => {
  it("shell read --follow prints until the shell exits, then exits 0", async () => {
    const id = createWorkspace();
    const shell = pyro("workspace", "shell", "open", id, "--id-only").stdout.trim();
    const reader = follow("workspace", "shell", "read", id, shell, "--follow", "--plain");
    await reader.sees(""); // the prompt
    const script = "for i in 1 2 3; do echo line-$i; sleep 0.3; done; exit 3";
    expect(pyro("workspace", "shell", "write", id, shell, "--input", script).status).toBe(0);
    expect(await reader.ended).toBe(0);
    expect(reader.out.stdout).toMatch(/line-1\r?\nline-2\r?\nline-3/);
    expect(reader.out.stderr).toContain(`shell ${shell} exited with code 3`);
  });

  it("Ctrl-C ends a follow with 130 and leaves the shell running", async () => {
    const id = createWorkspace();
    const shell = pyro("workspace", "shell", "open", id, "--id-only").stdout.trim();
    const reader = follow("workspace", "shell", "read", id, shell, "--follow");
    await reader.sees(""); // the prompt
    reader.child.kill("SIGINT");
    expect(await reader.ended).toBe(130);
    const status = pyro("workspace", "shell", "read", id, shell, "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ state: "running" });
  });

  it("service logs --follow prints each line as the service writes it, until it exits", async () => {
    const id = createWorkspace();
    const started = pyro(
      "workspace",
      "service",
      "start",
      id,
      "ticker",
      "--",
      "sh",
      "-c",
      "echo early; sleep 1; for i in 1 2 3; do echo tick-$i; echo warn-$i >&2; sleep 0.4; done",
    );
    expect(started.status, started.stderr).toBe(0);
    const logs = follow("workspace", "service", "logs", id, "ticker", "--follow");
    await logs.sees("early");
    expect(await logs.ended).toBe(0);
    expect(logs.out.stdout).toBe("early\ntick-1\ntick-2\ntick-3\n");
    expect(logs.out.stderr).toContain("warn-1\nwarn-2\nwarn-3\n");
    expect(logs.out.stderr).toMatch(/service ticker exited/);
  });

  it("workspace logs --follow prints commands as they are logged, until the workspace goes", async () => {
    const id = createWorkspace();
    expect(pyro("workspace", "exec", id, "--", "true").status).toBe(0);
    // An empty tail's cursor is the newest entry, so the next page starts after it.
    const empty = JSON.parse(pyro("workspace", "logs", id, "--tail", "0", "--json").stdout);
    expect(empty).toMatchObject({ count: 0, next_after_sequence: 1 });
    const logs = follow("workspace", "logs", id, "--tail", "0", "--follow");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pyro("workspace", "exec", id, "--", "echo", "second").status).toBe(0);
    await logs.sees("#2 exit 0  echo second");
    expect(pyro("workspace", "exec", id, "--", "sh", "-c", "exit 4").status).toBe(4);
    await logs.sees("#3 exit 4");
    expect(pyro("workspace", "delete", id).status).toBe(0);
    expect(await logs.ended).toBe(0);
    expect(logs.out.stdout).not.toContain("#1 "); // --tail 0: only what came after
    expect(logs.out.stderr).toContain(`workspace ${id} was deleted`);
  });

  it("is refused with --json", () => {
    const id = createWorkspace();
    const result = pyro("workspace", "logs", id, "--follow", "--json");
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--follow prints output as it arrives");
  });
});

describe("service start", () => {
  it("exits 1 when the service fails its readiness check or exits first", () => {
    const id = createWorkspace();
    const failed = pyro(
      "workspace",
      "service",
      "start",
      id,
      "broken",
      "--ready-file",
      "never",
      "--ready-timeout-seconds",
      "5",
      "--",
      "sh",
      "-c",
      "echo oops >&2; exit 3",
    );
    expect(failed.status, failed.stderr).toBe(1);
    expect(failed.stdout).toContain("service broken failed");
    expect(failed.stderr).toContain(`pyro workspace service logs ${id} broken`);
    const asJson = pyro(
      "workspace",
      "service",
      "start",
      id,
      "broken2",
      "--ready-command",
      "false",
      "--ready-timeout-seconds",
      "1",
      "--json",
      "--",
      "sleep",
      "30",
    );
    expect(asJson.status).toBe(1);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ state: "failed" });
    const healthy = pyro("workspace", "service", "start", id, "ok", "--", "sleep", "30");
    expect(healthy.status, healthy.stderr).toBe(0);
  });
});

describe("progress lines", () => {
  it("show the seconds since the command started", () => {
    const created = spawnSync(
      process.execPath,
      [cliPath, "workspace", "create", "debian:12", "--allow-host-compat", "--id-only"],
      { encoding: "utf8", env: { ...pyroEnv(state.stateDir()), PYRO_PROGRESS: "1" } },
    );
    expect(created.status, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/^pyro: \[\d+\.\ds\] booting sandbox$/m);
  });
});
