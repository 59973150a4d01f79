/**
 * The VM supervisor's start (docs/qemu-backend.md, "The supervisor"), on the host: the
 * backend starts it held (`--wait-for-go`) so that loading it overlaps the disks' creation,
 * and it checks its config by the generated JSON schema, without loading zod. A stand-in
 * for qemu (a shell script that records it ran, then waits) shows what was started; no
 * guest boots here.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { QemuBackend } from "../src/backends/qemu/qemu-backend.js";
import type { SupervisorConfig } from "../src/backends/qemu/supervisor-config.js";
import { processIsAlive } from "../src/process/process-group.js";
import {
  exitOf,
  guestSpec,
  useTempState,
  waitFor,
  withEnv,
  zodLoadedIn,
  zodProbe,
} from "./helpers.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const supervisorEntry = path.join(root, "dist", "backends", "qemu", "supervisor.js");

const state = useTempState();

/** A runtime directory with a config whose "qemu" writes `qemu-ran` and sleeps. */
function runtime(): { dir: string; config: string; marker: string } {
  const dir = fs.mkdtempSync(path.join(state.base(), "runtime-"));
  const marker = path.join(dir, "qemu-ran");
  const fakeQemu = path.join(dir, "fake-qemu.sh");
  fs.writeFileSync(fakeQemu, `#!/bin/sh\necho "$$" > ${JSON.stringify(marker)}\nexec sleep 30\n`, {
    mode: 0o700,
  });
  const config: SupervisorConfig = {
    qemu: fakeQemu,
    args: [],
    guest_socket: path.join(dir, "guest.sock"),
    client_socket: path.join(dir, "agent.sock"),
    console_log: path.join(dir, "console.log"),
    ready_file: path.join(dir, "ready.json"),
    exit_file: path.join(dir, "exit.json"),
    supervisor_pid_file: path.join(dir, "supervisor.pid"),
    vmm_pid_file: path.join(dir, "vmm.pid"),
    runtime_dir_fd: null,
    boot_timeout_ms: 60_000,
    expires_at: Date.now() / 1000 + 600,
    activity_file: null,
    network: null,
    restore: null,
  };
  const configFile = path.join(dir, "supervisor.json");
  fs.writeFileSync(configFile, JSON.stringify(config));
  return { dir, config: configFile, marker };
}

/** The supervisor, held, with a preload that reports at exit whether zod was required. */
function startHeld(config: string): { child: ChildProcess; output: () => string } {
  const child = spawn(
    process.execPath,
    ["--require", zodProbe(state.base()), supervisorEntry, config, "--wait-for-go"],
    { stdio: ["pipe", "pipe", "pipe"], detached: true },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

describe("the VM supervisor's start", () => {
  it("starts nothing when its launcher goes away before the release", async () => {
    const { dir, config, marker } = runtime();
    const { child, output } = startHeld(config);
    // Loaded and waiting: still alive well after a supervisor's start.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(child.exitCode, output()).toBeNull();
    child.stdin?.destroy(); // what a launcher killed with SIGKILL leaves: stdin's end
    expect(await exitOf(child)).toBe(0);
    expect(output()).toContain("the launch was abandoned");
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(path.join(dir, "supervisor.pid"))).toBe(false);
  }, 30_000);

  it("starts qemu once released, having checked its config without zod", async () => {
    const { dir, config, marker } = runtime();
    const { child, output } = startHeld(config);
    child.stdin?.end("go\n");
    await waitFor(() => fs.existsSync(marker), 15_000);
    const qemuPid = Number(fs.readFileSync(marker, "utf8").trim());
    expect(JSON.parse(fs.readFileSync(path.join(dir, "supervisor.pid"), "utf8"))).toMatchObject({
      pid: child.pid,
    });
    // Its signal handlers are set right after qemu's spawn: give it that moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGTERM"); // what a stop sends: it ends the VM and exits
    expect(await exitOf(child), output()).toBe(0);
    expect(processIsAlive(qemuPid)).toBe(false);
    expect(zodLoadedIn(output())).toBe(false);
    // Nor is zod inside the bundle, where the probe above could not see it.
    expect(fs.readFileSync(supervisorEntry, "utf8")).not.toContain('"$ZodType"');
  }, 30_000);

  it("words a config its JSON schema refuses with zod's error", async () => {
    const { config, marker } = runtime();
    const broken = { ...JSON.parse(fs.readFileSync(config, "utf8")), boot_timeout_ms: -1 };
    fs.writeFileSync(config, JSON.stringify(broken));
    const { child, output } = startHeld(config);
    child.stdin?.end("go\n");
    expect(await exitOf(child)).toBe(1);
    expect(output()).toContain("boot_timeout_ms");
    expect(zodLoadedIn(output())).toBe(true);
    expect(fs.existsSync(marker)).toBe(false);
  }, 30_000);

  it("leaves no held supervisor behind when a boot fails before its launch", async () => {
    const { dir } = runtime();
    // A boot starts its supervisor first; this one then fails: no environment is installed.
    const backend = new QemuBackend(path.join(state.base(), "no-environments"));
    const sandboxDir = path.join(state.base(), "sandbox");
    fs.mkdirSync(sandboxDir);
    const boot = withEnv({ PYRO_QEMU_BINARY: path.join(dir, "fake-qemu.sh") }, () =>
      backend.boot(guestSpec(sandboxDir, { sandboxId: "held-supervisor", memMib: 512 })),
    );
    await expect(boot).rejects.toThrow("debian:12");
    // A held supervisor left behind would wait on this process's pipe, alive.
    const running = spawnSync("pgrep", ["-f", `supervisor.js ${sandboxDir}/`], {
      encoding: "utf8",
    });
    expect(running.stdout).toBe("");
    expect(fs.existsSync(path.join(sandboxDir, "runtime"))).toBe(false);
  }, 30_000);
});
