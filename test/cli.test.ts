import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { Manager } from "../src/core/manager.js";
import { invokeOperation, operations } from "../src/operations/index.js";
import { processIsAlive } from "../src/process/process-group.js";
import { listDirs, useTempState, waitFor } from "./helpers.js";

const state = useTempState();
const cli = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "dist",
  "cli",
  "main.js",
);

function pyro(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    env: { ...process.env, PYRO_STATE_DIR: state.stateDir(), PYRO_BACKEND: "host" },
  });
}

describe("the operation catalogue", () => {
  it("has one uniquely named operation per contract operation", () => {
    const names = operations.map((operation) => operation.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        "vm_create",
        "vm_start",
        "vm_exec",
        "vm_stop",
        "vm_delete",
        "vm_status",
        "vm_network_info",
        "vm_reap_expired",
        "vm_run",
        "vm_list_environments",
        "workspace_create",
        "workspace_sync_push",
        "workspace_exec",
        "workspace_status",
        "workspace_logs",
        "workspace_diff",
        "workspace_export",
        "snapshot_create",
        "snapshot_list",
        "snapshot_delete",
        "workspace_reset",
        "workspace_delete",
        "shell_open",
        "shell_read",
        "shell_write",
        "shell_signal",
        "shell_close",
        "service_start",
        "service_list",
        "service_status",
        "service_logs",
        "service_stop",
      ]),
    );
  });

  it("names the field and the value of a badly typed input, and refuses unknown fields", async () => {
    const manager = new Manager({ baseDir: state.stateDir(), backend: "host" });
    await expect(invokeOperation(manager, "vm_create", { vcpu_count: "two" })).rejects.toThrow(
      /vm_create: vcpu_count: .*got "two"/,
    );
    await expect(invokeOperation(manager, "vm_create", { vcpus: 2 })).rejects.toThrow(/vcpus/);
    await expect(invokeOperation(manager, "vm_create", { vcpu_count: 99 })).rejects.toThrow(
      "vcpu_count must be between 1 and 8, got 99",
    );
    await expect(invokeOperation(manager, "nope", {})).rejects.toThrow(
      "operation 'nope' does not exist",
    );
    manager.close();
  });
});

describe("pyro CLI", () => {
  it("runs a command and exits with its exit code", () => {
    const ok = pyro("run", "debian:12", "--allow-host-compat", "--", "echo", "hello world");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe("hello world\n");
    const failing = pyro(
      "run",
      "debian:12",
      "--allow-host-compat",
      "--",
      "sh",
      "-c",
      "echo oops >&2; exit 3",
    );
    expect(failing.status).toBe(3);
    expect(failing.stderr).toBe("oops\n"); // a pipe gets the command's stderr, nothing more
  });

  it("tells a person at a terminal when a command ran without isolation", () => {
    const words = [process.execPath, cli, "run", "debian:12", "--allow-host-compat", "--", "true"];
    // util-linux `script` gives the CLI a real terminal.
    const viaTerminal = spawnSync(
      "script",
      ["-qec", words.map((word) => `'${word}'`).join(" "), "/dev/null"],
      {
        encoding: "utf8",
        env: { ...process.env, PYRO_STATE_DIR: state.stateDir(), PYRO_BACKEND: "host" },
      },
    );
    expect(viaTerminal.status).toBe(0);
    expect(viaTerminal.stdout).toContain("ran as a host process (host_compat), not in a guest");
  });

  it("deletes the sandbox when interrupted with Ctrl-C", async () => {
    const child = spawn(
      process.execPath,
      [cli, "run", "debian:12", "--allow-host-compat", "--", "sleep", "300"],
      {
        env: { ...process.env, PYRO_STATE_DIR: state.stateDir(), PYRO_BACKEND: "host" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const vms = path.join(state.stateDir(), "vms");
    const sleeper = (): number | undefined => {
      for (const name of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8");
          const environ = fs.readFileSync(`/proc/${name}/environ`, "utf8");
          if (cmdline === "sleep\u0000300\u0000" && environ.includes(`PYRO_SANDBOX=${vms}`))
            return Number(name);
        } catch {
          // gone, or not ours to read
        }
      }
      return undefined;
    };
    await waitFor(() => sleeper() !== undefined, 10_000);
    const pid = sleeper() ?? 0;
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(listDirs(vms)).toEqual([]);
    expect(processIsAlive(pid)).toBe(false);
  });

  it("prints JSON with --json", () => {
    const result = pyro("run", "debian:12", "--allow-host-compat", "--json", "--", "printf", "ok");
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      exit_code: 0,
      stdout: "ok",
      execution_mode: "host_compat",
    });
  });

  it("fails closed without --allow-host-compat and reports errors with their code", () => {
    const refused = pyro("run", "debian:12", "--", "true");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("guest boot is unavailable");
    const invalid = pyro(
      "run",
      "debian:12",
      "--vcpu-count",
      "9",
      "--allow-host-compat",
      "--",
      "true",
    );
    expect(invalid.stderr).toContain(
      "[invalid_argument]: vcpu_count must be between 1 and 8, got 9",
    );
  });

  it("drives workspaces through `pyro call`", () => {
    const created = pyro("call", "workspace_create", JSON.stringify({ allow_host_compat: true }));
    expect(created.status).toBe(0);
    const { workspace_id } = JSON.parse(created.stdout) as { workspace_id: string };
    const exec = pyro(
      "call",
      "workspace_exec",
      JSON.stringify({ workspace_id, command: "echo hi > a.txt" }),
    );
    expect(JSON.parse(exec.stdout)).toMatchObject({ exit_code: 0, sequence: 1 });
    const diff = pyro("call", "workspace_diff", JSON.stringify({ workspace_id }));
    expect(JSON.parse(diff.stdout)).toMatchObject({ changed: true, summary: { added: 1 } });
    const bad = pyro("call", "workspace_exec", "{not json");
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: "invalid_argument" } });
  });
});
