import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import {
  isSameProcess,
  killProcessGroup,
  processIsAlive,
  readProcStat,
  sleep,
  waitForExit,
} from "../../process/process-group.js";
import type { EnvironmentName } from "../../environments/catalog.js";
import { AGENT_PORT_NAME } from "../../environments/catalog.js";
import { requireTools, runTool } from "../../environments/host-tools.js";
import { ensureAgentCurrent } from "../../environments/pull.js";
import { EnvironmentStore, type BootArtifacts } from "../../environments/store.js";
import { PyroError } from "../../errors.js";
import { packageFile } from "../../package-root.js";
import { readRecord, type RuntimeRecord } from "../../store/records.js";
import { inheritedSocketAddress } from "../../protocol/socket-address.js";
import { socketPathFor } from "../socket-path.js";
import type { Backend, RuntimeCapabilities, SandboxSpec } from "../types.js";
import { chooseAccelerator, findQemu, hostTscKhz, type Accelerator } from "./detect.js";
import {
  ExitSchema,
  PidFileSchema,
  ReadySchema,
  consoleTail,
  type SupervisorConfig,
} from "./supervisor-config.js";

const STOP_GRACE_MS = 3_000;
/**
 * How much larger than the environment's image a guest's disk is. The guest agent grows its
 * root filesystem to the disk at boot, so this is /workspace's room beyond the image's own
 * headroom, shared with uploads staged for validation (a push of N bytes needs about 2N
 * while it is extracted). A qcow2 overlay takes host disk only as the guest writes.
 */
const GUEST_DISK_EXTRA_BYTES = 3 * 1024 * 1024 * 1024;
/** The descriptor under which qemu inherits its runtime directory when paths are too long. */
const QEMU_RUNTIME_DIR_FD = 3;
/** Under TCG a cold boot takes ~6 s on an idle 2-core host; leave room for a loaded one. */
const DEFAULT_BOOT_TIMEOUT_MS = { kvm: 30_000, tcg: 60_000 } as const;

interface QemuPaths {
  runtimeDir: string;
  overlay: string;
  clientSocket: string;
  guestSocket: string;
  consoleLog: string;
  supervisorLog: string;
  config: string;
  ready: string;
  exit: string;
  supervisorPid: string;
  vmmPid: string;
}

function qemuPaths(sandboxDir: string): QemuPaths {
  const runtimeDir = path.join(sandboxDir, "runtime");
  return {
    runtimeDir,
    overlay: path.join(runtimeDir, "disk.qcow2"),
    clientSocket: socketPathFor(runtimeDir, "agent"),
    guestSocket: socketPathFor(runtimeDir, "guest"),
    consoleLog: path.join(runtimeDir, "console.log"),
    supervisorLog: path.join(runtimeDir, "supervisor.log"),
    config: path.join(runtimeDir, "supervisor.json"),
    ready: path.join(runtimeDir, "ready.json"),
    exit: path.join(runtimeDir, "exit.json"),
    supervisorPid: path.join(runtimeDir, "supervisor.pid"),
    vmmPid: path.join(runtimeDir, "vmm.pid"),
  };
}

/**
 * Real guests: `qemu-system-x86_64 -M microvm` booting the environment's kernel,
 * initramfs and a per-sandbox copy-on-write overlay of its rootfs, with the pyro agent
 * behind a virtio-serial port. Each VM is owned by a detached supervisor process
 * (supervisor.ts) that shares the port with any number of host clients on a Unix socket,
 * so the manager talks to a guest exactly as it talks to the host backend's agent.
 */
export class QemuBackend implements Backend {
  readonly name = "qemu" as const;
  readonly executionMode = "guest_serial";
  readonly compressesTransfers = true;
  private readonly store: EnvironmentStore;

  constructor(environmentCacheDir: string) {
    this.store = new EnvironmentStore(environmentCacheDir);
  }

  capabilities(): RuntimeCapabilities {
    const qemu = findQemu();
    if (!qemu) {
      return {
        vm_boot: false,
        guest_exec: false,
        guest_network: false,
        reason: "qemu-system-x86_64 was not found (apt-get install qemu-system-x86)",
      };
    }
    const accel = chooseAccelerator();
    return {
      vm_boot: true,
      guest_exec: true,
      guest_network: false,
      reason: `qemu microvm with ${accel.accel}: ${accel.reason}`,
    };
  }

  async boot(spec: SandboxSpec): Promise<RuntimeRecord> {
    if (spec.networkRequested) {
      throw new PyroError(
        "guest_unavailable",
        "guest networking is not available on the qemu backend yet (capability guest_network is false); create the sandbox without network",
        { field: "network" },
      );
    }
    const qemu = findQemu();
    if (!qemu) {
      throw new PyroError(
        "guest_unavailable",
        "guest boot is unavailable: qemu-system-x86_64 was not found; install it with: apt-get install qemu-system-x86",
      );
    }
    const tools = requireTools(["qemu-img"], "booting a qemu guest");
    const environment = spec.environment as EnvironmentName;
    await ensureAgentCurrent(this.store, environment);
    const artifacts = await this.store.bootArtifacts(environment);
    const accel = chooseAccelerator();
    const bootTimeoutMs = bootTimeout(accel.accel);
    const paths = qemuPaths(spec.sandboxDir);

    // A VM a killed caller left behind (a reset killed mid-boot) must not outlive this boot.
    await sweepRuntime(paths);
    fs.rmSync(paths.runtimeDir, { recursive: true, force: true });
    fs.mkdirSync(paths.runtimeDir, { recursive: true, mode: 0o700 });
    let supervisorPid: number | undefined;
    try {
      await runTool(tools["qemu-img"] as string, [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        "raw",
        "-b",
        artifacts.rootfs,
        paths.overlay,
        String(fs.statSync(artifacts.rootfs).size + GUEST_DISK_EXTRA_BYTES),
      ]);
      const config: SupervisorConfig = {
        qemu,
        args: qemuArgs(spec, artifacts, paths, accel.accel),
        guest_socket: paths.guestSocket,
        client_socket: paths.clientSocket,
        console_log: paths.consoleLog,
        ready_file: paths.ready,
        exit_file: paths.exit,
        supervisor_pid_file: paths.supervisorPid,
        vmm_pid_file: paths.vmmPid,
        runtime_dir_fd:
          inheritedSocketAddress(paths.guestSocket, QEMU_RUNTIME_DIR_FD) === null
            ? null
            : QEMU_RUNTIME_DIR_FD,
        boot_timeout_ms: bootTimeoutMs,
        expires_at: spec.expiresAt,
      };
      fs.writeFileSync(paths.config, JSON.stringify(config, null, 2), { mode: 0o600 });
      const log = fs.openSync(paths.supervisorLog, "a", 0o600);
      try {
        const child = spawn(process.execPath, [supervisorEntry(), paths.config], {
          detached: true,
          stdio: ["ignore", log, log],
          cwd: paths.runtimeDir,
        });
        child.once("error", () => undefined);
        child.unref();
        // The supervisor writes runtime/supervisor.pid itself before it starts qemu, so
        // the VM is findable from the directory even if we die right here.
        supervisorPid = child.pid;
      } finally {
        fs.closeSync(log);
      }
      if (supervisorPid === undefined) {
        throw new PyroError("backend_error", "could not start the pyro VM supervisor");
      }
      const ready = await waitForReady(paths, supervisorPid, bootTimeoutMs + 10_000);
      return {
        pid: supervisorPid,
        pid_start_ticks: readProcStat(supervisorPid)?.startTicks ?? null,
        socket_path: paths.clientSocket,
        started_at: Date.now() / 1000,
        agent_version: ready.agent_version,
        vmm_pid: ready.vmm_pid,
        vmm_pid_start_ticks: ready.vmm_pid_start_ticks,
      };
    } catch (error) {
      // Nothing of a failed boot survives: supervisor and qemu share a process group.
      killProcessGroup(supervisorPid, "SIGKILL");
      if (supervisorPid !== undefined) await waitForExit(supervisorPid, STOP_GRACE_MS);
      removeRuntime(paths);
      throw error;
    }
  }

  isAlive(runtime: RuntimeRecord): boolean {
    if (!isSameProcess(runtime.pid, runtime.pid_start_ticks)) return false;
    if (runtime.vmm_pid == null) return true;
    return isSameProcess(runtime.vmm_pid, runtime.vmm_pid_start_ticks ?? null);
  }

  async deathReason(runtime: RuntimeRecord, spec: SandboxSpec): Promise<string | null> {
    const paths = qemuPaths(spec.sandboxDir);
    // qemu may have died a moment ago: give its supervisor a moment to write down why.
    const deadline = Date.now() + 2_000;
    while (isSameProcess(runtime.pid, runtime.pid_start_ticks) && !fs.existsSync(paths.exit)) {
      if (Date.now() > deadline) break;
      await sleep(20);
    }
    try {
      const exit = ExitSchema.parse(JSON.parse(fs.readFileSync(paths.exit, "utf8")));
      return `the guest VM ended: ${exit.reason}`;
    } catch {
      if (
        runtime.vmm_pid != null &&
        !isSameProcess(runtime.vmm_pid, runtime.vmm_pid_start_ticks ?? null)
      ) {
        return `the guest VM's qemu process (pid ${runtime.vmm_pid}) is no longer running`;
      }
      return `the VM supervisor (pid ${runtime.pid}) is no longer running`;
    }
  }

  async sweepOrphan(sandboxDir: string): Promise<void> {
    const paths = qemuPaths(sandboxDir);
    await sweepRuntime(paths);
    removeRuntime(paths);
  }

  async destroy(runtime: RuntimeRecord | null, spec: SandboxSpec): Promise<void> {
    if (runtime) await this.stop(runtime);
    // The record may not name every VM of this directory: a reset killed after booting a
    // new supervisor saved none. Whatever the runtime directory knows goes too.
    const paths = qemuPaths(spec.sandboxDir);
    await sweepRuntime(paths);
    removeRuntime(paths);
  }

  private async stop(
    runtime: Pick<RuntimeRecord, "pid" | "pid_start_ticks" | "vmm_pid" | "vmm_pid_start_ticks">,
  ): Promise<void> {
    if (isSameProcess(runtime.pid, runtime.pid_start_ticks)) {
      // The supervisor kills qemu and removes its sockets on SIGTERM.
      process.kill(runtime.pid, "SIGTERM");
      await waitForExit(runtime.pid, STOP_GRACE_MS);
      if (isSameProcess(runtime.pid, runtime.pid_start_ticks)) {
        killProcessGroup(runtime.pid, "SIGKILL");
        await waitForExit(runtime.pid, STOP_GRACE_MS);
      }
    }
    // A supervisor killed with SIGKILL leaves its qemu behind: stop that one directly.
    const vmm = runtime.vmm_pid;
    if (vmm != null && isSameProcess(vmm, runtime.vmm_pid_start_ticks ?? null)) {
      process.kill(vmm, "SIGKILL");
      await waitForExit(vmm, STOP_GRACE_MS);
    }
  }
}

function bootTimeout(accel: Accelerator): number {
  const raw = Number(process.env.PYRO_BOOT_TIMEOUT_SECONDS);
  return Number.isFinite(raw) && raw > 0 ? raw * 1000 : DEFAULT_BOOT_TIMEOUT_MS[accel];
}

/** The qemu command line of one sandbox (exported for `doctor` and the benchmark). */
function qemuArgs(
  spec: Pick<SandboxSpec, "vcpuCount" | "memMib">,
  artifacts: Pick<BootArtifacts, "kernel" | "initramfs">,
  paths: Pick<QemuPaths, "overlay" | "guestSocket" | "consoleLog">,
  accel: Accelerator,
): string[] {
  const cmdline = [
    "console=ttyS0",
    "quiet",
    "loglevel=3",
    // A panic (the agent, PID 1's child, died) ends the VM instead of hanging it.
    "panic=-1",
    `pyro.epoch=${Math.floor(Date.now() / 1000)}`,
  ];
  // A runtime directory too deep for sun_path reaches qemu as its fd 3 (supervisor.ts).
  const guestSocket =
    inheritedSocketAddress(paths.guestSocket, QEMU_RUNTIME_DIR_FD) ?? paths.guestSocket;
  const tscKhz = accel === "tcg" ? hostTscKhz() : null;
  if (tscKhz !== null) cmdline.push(`tsc_early_khz=${tscKhz}`);
  return [
    ...["-M", "microvm,acpi=on,rtc=on"],
    ...["-accel", accel],
    ...["-cpu", accel === "kvm" ? "host" : "max"],
    ...["-smp", String(spec.vcpuCount)],
    ...["-m", `${spec.memMib}M`],
    "-nodefaults",
    "-no-user-config",
    ...["-display", "none"],
    "-no-reboot",
    ...["-kernel", artifacts.kernel],
    ...["-initrd", artifacts.initramfs],
    ...["-append", cmdline.join(" ")],
    ...["-serial", `file:${paths.consoleLog}`],
    ...["-drive", `id=root,file=${paths.overlay},format=qcow2,if=none,cache=unsafe,discard=unmap`],
    ...["-device", "virtio-blk-device,drive=root"],
    ...["-device", "virtio-serial-device,max_ports=2"],
    ...["-chardev", `socket,id=agent,path=${guestSocket},server=on,wait=off`],
    ...["-device", `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`],
    ...["-device", "virtio-rng-device"],
  ];
}

function supervisorEntry(): string {
  return packageFile(path.join("dist", "backends", "qemu", "supervisor.js"));
}

async function waitForReady(
  paths: QemuPaths,
  supervisorPid: number,
  deadlineMs: number,
): Promise<{ agent_version: string; vmm_pid: number; vmm_pid_start_ticks: number | null }> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ready = await readRecord(paths.ready, ReadySchema).catch(() => null);
    if (ready) return ready;
    const exit = await readRecord(paths.exit, ExitSchema).catch(() => null);
    if (exit) throw new PyroError("backend_error", `guest boot failed: ${exit.reason}`);
    if (!processIsAlive(supervisorPid)) {
      throw new PyroError(
        "backend_error",
        `the VM supervisor exited during boot: ${tailOf(paths.supervisorLog)}; guest console:\n${tailOf(paths.consoleLog)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new PyroError(
        "backend_error",
        `guest boot timed out after ${Math.round(deadlineMs / 1000)} s; guest console:\n${tailOf(paths.consoleLog)}`,
      );
    }
    await sleep(25);
  }
}

function tailOf(file: string): string {
  try {
    return consoleTail(fs.readFileSync(file, "utf8"));
  } catch {
    return `(no ${path.basename(file)})`;
  }
}

/**
 * Stops every supervisor and qemu of one sandbox directory, whatever record names them:
 * the pids the supervisor wrote to runtime/ (its own before it starts qemu, then qemu's),
 * and, for a supervisor killed before it wrote them, any process of ours whose command
 * line names this directory's supervisor config or disk overlay.
 */
async function sweepRuntime(paths: QemuPaths): Promise<void> {
  const targets = new Map<number, number | null>();
  for (const file of [paths.supervisorPid, paths.vmmPid]) {
    const recorded = await readRecord(file, PidFileSchema).catch(() => null);
    if (recorded) targets.set(recorded.pid, recorded.start_ticks);
  }
  const ready = await readRecord(paths.ready, ReadySchema).catch(() => null);
  if (ready) targets.set(ready.vmm_pid, ready.vmm_pid_start_ticks);
  for (const pid of processesNaming(paths)) targets.set(pid, readProcStat(pid)?.startTicks ?? null);
  const live = [...targets].filter(
    ([pid, ticks]) => pid !== process.pid && isSameProcess(pid, ticks),
  );
  for (const [pid] of live) {
    // Supervisor and qemu share a process group led by the supervisor.
    killProcessGroup(pid, "SIGKILL");
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const [pid] of live) await waitForExit(pid, STOP_GRACE_MS);
}

/** Our processes whose arguments name this sandbox's supervisor config or qemu overlay. */
function processesNaming(paths: QemuPaths): number[] {
  const uid = process.getuid?.();
  const overlayArg = `file=${paths.overlay},`;
  const found: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      if (uid !== undefined && fs.statSync(`/proc/${name}`).uid !== uid) continue;
      const args = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (args.some((arg) => arg === paths.config || arg.includes(overlayArg))) found.push(pid);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

function removeRuntime(paths: QemuPaths): void {
  fs.rmSync(paths.clientSocket, { force: true });
  fs.rmSync(paths.guestSocket, { force: true });
  fs.rmSync(paths.runtimeDir, { recursive: true, force: true, maxRetries: 3 });
}
