import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { allCommands, buildProgram } from "../src/cli/program.js";
import { useTempState, writeTree } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();

function pyro(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    env: pyroEnv(state.stateDir()),
  });
}

/** Runs a command with --json (before any `--`) and returns the parsed stdout (the SDK object). */
function pyroJson<T = Record<string, unknown>>(...args: string[]): T {
  const separator = args.indexOf("--");
  const withJson =
    separator === -1
      ? [...args, "--json"]
      : [...args.slice(0, separator), "--json", ...args.slice(separator)];
  const result = pyro(...withJson);
  if (result.status !== 0 && !result.stdout.trim().startsWith("{"))
    throw new Error(`pyro ${args.join(" ")} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

describe("pyro workspace commands", () => {
  it("drive the seeded create -> exec -> snapshot -> reset -> diff loop with --json", () => {
    const seed = writeTree(path.join(state.base(), "seed"), { "app.txt": "v1\n" });
    const created = pyroJson(
      "workspace",
      "create",
      "debian:12",
      "--seed-path",
      seed,
      "--allow-host-compat",
      "--ttl-seconds",
      "900",
    );
    expect(created).toMatchObject({ state: "started", ttl_seconds: 900 });
    const id = created.workspace_id as string;

    // Arguments are re-quoted for the guest shell: spaces, quotes and $ survive as typed.
    const exec = pyroJson(
      "workspace",
      "exec",
      id,
      "--",
      "sh",
      "-c",
      `printf '%s|' "$0" "$1"`,
      "a b",
      "it's $HOME",
    );
    expect(exec).toMatchObject({ exit_code: 0, stdout: "a b|it's $HOME|", sequence: 1 });

    expect(pyro("workspace", "exec", id, "--", "sh", "-c", "echo v2 > app.txt").status).toBe(0);
    expect(pyroJson("workspace", "snapshot", "create", id, "v2")).toMatchObject({
      snapshot: { snapshot_name: "v2" },
    });
    const failing = pyro("workspace", "exec", id, "--", "sh", "-c", "echo broken >&2; exit 7");
    expect(failing.status).toBe(7);
    expect(failing.stderr).toBe("broken\n");
    expect(pyro("workspace", "exec", id, "--", "rm", "app.txt").status).toBe(0);

    const reset = pyroJson("workspace", "reset", id, "--snapshot", "v2");
    expect(reset).toMatchObject({ reset_count: 1, workspace_reset: { snapshot_name: "v2" } });
    const snapshots = pyroJson<{ snapshots: Array<{ snapshot_name: string }> }>(
      "workspace",
      "snapshot",
      "list",
      id,
    );
    expect(snapshots.snapshots.map((snapshot) => snapshot.snapshot_name)).toEqual([
      "baseline",
      "v2",
    ]);

    const diff = pyro("workspace", "diff", id);
    expect(diff.status).toBe(0);
    expect(diff.stdout).toContain("--- a/app.txt\n+++ b/app.txt");
    expect(diff.stderr).toContain("1 changed: 0 added, 1 modified, 0 deleted");

    const status = pyro("workspace", "status", id);
    expect(status.stdout).toContain(`workspace ${id} started`);
    expect(pyroJson("workspace", "status", id)).toMatchObject({ reset_count: 1, command_count: 0 });
    expect(pyroJson("workspace", "logs", id)).toMatchObject({ count: 0 });

    const output = path.join(state.base(), "out.txt");
    expect(pyroJson("workspace", "export", id, "app.txt", "--output", output)).toMatchObject({
      artifact_type: "file",
    });
    expect(fs.readFileSync(output, "utf8")).toBe("v2\n");
    expect(pyroJson("workspace", "delete", id)).toEqual({ workspace_id: id, deleted: true });
  });

  it("drive shells and services, and sync files in", () => {
    const id = pyroJson("workspace", "create", "debian:12", "--allow-host-compat")
      .workspace_id as string;
    const source = writeTree(path.join(state.base(), "src"), { "hello.sh": "echo hello\n" });
    expect(
      pyroJson("workspace", "sync", "push", id, source, "--dest", "/workspace/bin"),
    ).toMatchObject({
      workspace_sync: { destination: "/workspace/bin", mode: "directory" },
    });
    const shell = pyroJson("workspace", "shell", "open", id).shell_id as string;
    pyroJson("workspace", "shell", "write", id, shell, "--input", "sh bin/hello.sh");
    let output = "";
    for (let attempt = 0; attempt < 50 && !output.includes("hello\r\n"); attempt += 1) {
      output = pyroJson<{ output: string }>("workspace", "shell", "read", id, shell).output;
    }
    expect(output).toContain("hello\r\n");
    expect(pyroJson("workspace", "shell", "close", id, shell)).toMatchObject({ closed: true });

    const started = pyroJson(
      "workspace",
      "service",
      "start",
      id,
      "web",
      "--ready-file",
      "up",
      "--",
      "sh",
      "-c",
      "echo serving; touch up; exec sleep 300",
    );
    expect(started).toMatchObject({ state: "running", readiness: { type: "file" } });
    expect(pyroJson("workspace", "service", "list", id)).toMatchObject({ running_count: 1 });
    expect(pyro("workspace", "service", "logs", id, "web").stdout).toBe("serving\n");
    expect(pyroJson("workspace", "service", "stop", id, "web")).toMatchObject({ state: "stopped" });
    const twoChecks = pyro(
      "workspace",
      "service",
      "start",
      id,
      "x",
      "--ready-file",
      "a",
      "--ready-tcp",
      "127.0.0.1:1",
      "--",
      "true",
    );
    expect(twoChecks.status).toBe(1);
    expect(twoChecks.stderr).toContain("[invalid_argument]: readiness: give at most one of");
  });

  it("report failures with the error code and a non-zero exit status", () => {
    const missing = pyro("workspace", "status", "0123456789ab");
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toContain(
      "pyro: error [not_found]: workspace '0123456789ab' does not exist",
    );
    expect(missing.stderr).toContain("pyro: next step:");
    const json = pyro("workspace", "status", "0123456789ab", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "not_found" } });
    const refused = pyro("workspace", "create", "debian:12");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("[guest_unavailable]");
    expect(refused.stderr).toContain("--allow-host-compat");
    const usage = pyro("workspace", "exec");
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("missing required argument");
  });
});

describe("pyro itself", () => {
  it("prints its version", () => {
    const packageJson = JSON.parse(
      fs.readFileSync(path.join(path.dirname(cliPath), "..", "..", "package.json"), "utf8"),
    ) as { version: string };
    const result = pyro("--version");
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
  });

  it("shows a worked example in every command's help, and --json on every leaf command", () => {
    for (const command of allCommands(buildProgram())) {
      let help = "";
      command.configureOutput({ writeOut: (text) => (help += text) });
      command.outputHelp();
      const name = command.name();
      expect(help, name).toMatch(/\nExamples?:\n {2}\$ .*pyro /);
      const isLeaf = command.commands.length === 0;
      // Only the interactive commands (a server, a terminal session) and shell completion
      // (a script, and the candidates that script reads) print no result.
      const noResult = ["serve", "attach", "completion", "complete"];
      if (isLeaf && !noResult.includes(name)) expect(help, name).toContain("--json");
    }
  });
});
