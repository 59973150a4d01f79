import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

import {
  isSameProcess,
  killProcessGroup,
  readProcStat,
  sleep,
  waitForExit,
} from "../../process/process-group.js";
import type { EnvironmentName } from "../../environments/catalog.js";
import { findTool, requireTools, runTool } from "../../environments/host-tools.js";
import { ensureAgentCurrent } from "../../environments/pull.js";
import { EnvironmentStore, type BootArtifacts } from "../../environments/store.js";
import { PyroError } from "../../errors.js";
import { packageFile } from "../../package-root.js";
import type { RuntimeRecord } from "../../store/records.js";
import { inheritedSocketAddress } from "../../protocol/socket-address.js";
import type { Backend, RuntimeCapabilities, SandboxSpec } from "../types.js";
import { chooseAccelerator, findQemu, type Accelerator } from "./detect.js";
import { NETWORK_LOG_FILE } from "../../shared/network-log.js";
import {
  GUEST_NET,
  NETDEV_ID,
  PROXY_SOCKET_NAME,
  QMP_SOCKET_NAME,
  hostAliasPorts,
} from "./guest-net.js";
import { humanMonitorCommands } from "./qmp.js";
import { QEMU_RUNTIME_DIR_FD, qemuArgs } from "./qemu-args.js";
import {
  STOP_GRACE_MS,
  qemuPaths,
  removeRuntime,
  sweepRuntime,
  waitForReady,
  type QemuPaths,
} from "./runtime-files.js";
import { ExitSchema, type SupervisorConfig } from "./supervisor-config.js";
import {
  KEPT_TEMPLATE_LAYER,
  RESTORE_QMP_SOCKET_NAME,
  TemplateStore,
  detachFromTemplate,
  saveRunningGuest,
  shellQuote,
  templateArgs,
  templateShape,
} from "./templates.js";

/**
 * How much larger than the environment's image a guest's disk is. The guest agent grows its
 * root filesystem to the disk at boot, so this is /workspace's room beyond the image's own
 * headroom, shared with uploads staged for validation (a push of N bytes needs about 2N
 * while it is extracted). A qcow2 overlay takes host disk only as the guest writes.
 */
const GUEST_DISK_EXTRA_BYTES = 3 * 1024 * 1024 * 1024;
/**
 * The transfer disk's size: the largest archive one transfer may carry (an upload is capped
 * at 8 GiB by validation) plus room for the tar's own headers.
 */
const TRANSFER_DISK_BYTES = 8 * 1024 * 1024 * 1024 + 256 * 1024 * 1024;
/** Under TCG a cold boot takes ~6 s on an idle 2-core host; leave room for a loaded one. */
const DEFAULT_BOOT_TIMEOUT_MS = { kvm: 30_000, tcg: 60_000 } as const;

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
  private readonly templates: TemplateStore;

  constructor(environmentCacheDir: string) {
    this.store = new EnvironmentStore(environmentCacheDir);
    this.templates = new TemplateStore(environmentCacheDir);
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
    const network = guestNetworkProblem(qemu);
    return {
      vm_boot: true,
      guest_exec: true,
      guest_network: network === null,
      reason: `qemu microvm with ${accel.accel}: ${accel.reason}`,
      ...(network === null ? {} : { guest_network_reason: network }),
    };
  }

  async boot(spec: SandboxSpec): Promise<RuntimeRecord> {
    const qemu = requireBootable(spec);
    const tools = requireTools(["qemu-img"], "booting a qemu guest");
    const socat = spec.networkPolicy === "off" ? null : requireSocat();
    const environment = spec.environment as EnvironmentName;
    await ensureAgentCurrent(this.store, environment);
    const artifacts = await this.store.bootArtifacts(environment);
    const accel = chooseAccelerator();
    const bootTimeoutMs = bootTimeout(accel.accel);
    const paths = qemuPaths(spec.sandboxDir);
    const args = qemuArgs(
      spec,
      artifacts,
      paths,
      accel.accel,
      socat === null ? undefined : { ...spec, socat },
    );
    const vm: VmLaunch = {
      qemu,
      qemuImg: tools["qemu-img"] as string,
      rootfs: artifacts.rootfs,
      accel: accel.accel,
      bootTimeoutMs,
      activityFile: spec.activityFile ?? null,
      network: supervisorNetwork(spec, paths),
    };
    if (spec.resume === true) {
      // A stopped workspace boots on the disk it kept (workspace_stop): its memory is gone,
      // so there is nothing a template could restore.
      const runtime = await launchVm(vm, paths, {
        args,
        disk: "kept",
        timeoutMs: bootTimeoutMs,
        expiresAt: spec.expiresAt,
        restore: null,
      });
      return { ...runtime, boot_mode: "cold", template_fallback: "resumed on its kept disk" };
    }

    // A restore from the shape's booted-guest template, or why not (recorded with the boot).
    const shape = templateShape(qemu, accel.accel, artifacts, args, paths);
    let fallback: string;
    if (shape.key === null) {
      fallback = shape.reason;
    } else {
      try {
        return await this.restore(spec, vm, artifacts, args, paths, shape);
      } catch (error) {
        fallback = `restoring the template failed: ${(error as Error).message}`;
      }
    }
    const runtime = await launchVm(vm, paths, {
      args,
      disk: { backing: null },
      timeoutMs: bootTimeoutMs,
      expiresAt: spec.expiresAt,
      restore: null,
    });
    return { ...runtime, boot_mode: "cold", template_fallback: fallback };
  }

  /**
   * Restores the sandbox from its shape's template, building the template first if there is
   * none (under a lock: concurrent creates build it once). A template qemu failed to load
   * is thrown away, so the next create builds a good one.
   */
  private async restore(
    spec: SandboxSpec,
    vm: VmLaunch,
    artifacts: BootArtifacts,
    args: string[],
    paths: QemuPaths,
    shape: { key: string; inputs: Record<string, unknown> },
  ): Promise<RuntimeRecord> {
    const template = await this.templates.obtain(
      shape.key,
      shape.inputs,
      vm.bootTimeoutMs + 60_000,
      (buildDir) => buildTemplate(vm, spec, artifacts, buildDir, shape.key),
      (buildDir) => sweepRuntime(qemuPaths(buildDir)),
    );
    try {
      const runtime = await launchVm(vm, paths, {
        args: [
          ...templateArgs(args, spec.memMib, template.ram, false),
          ...["-qmp", `unix:${RESTORE_QMP_SOCKET_NAME},server=on,wait=off`],
          ...["-incoming", "defer"],
        ],
        disk: { backing: template.disk },
        timeoutMs: restoreTimeout(vm.bootTimeoutMs),
        expiresAt: spec.expiresAt,
        restore: {
          template_key: template.key,
          sandbox_id: spec.sandboxId,
          qmp_socket: path.join(paths.runtimeDir, RESTORE_QMP_SOCKET_NAME),
          incoming_uri: `exec:cat ${shellQuote(template.state)}`,
        },
      });
      return { ...runtime, boot_mode: "template", template_fallback: null };
    } catch (error) {
      // qemu refused the state (damaged, or from another qemu): never try it again. A
      // timeout (a loaded host) says nothing against the template and keeps it.
      if (/qemu \(pid \d+\) exited with code/.test((error as Error).message)) {
        this.templates.invalidate(template.key);
      }
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

  transferDisk(sandboxDir: string): { disk: string; lock: string } | null {
    const paths = qemuPaths(sandboxDir);
    // A guest booted by an older pyro has none.
    return fs.existsSync(paths.transferDisk)
      ? { disk: paths.transferDisk, lock: paths.transferLock }
      : null;
  }

  rootDisk(sandboxDir: string): { path: string; format: "qcow2" } | null {
    // A workspace stopped by workspace_stop keeps its disk outside the runtime directory.
    const { overlay, keptDisk } = qemuPaths(sandboxDir);
    if (fs.existsSync(overlay)) return { path: overlay, format: "qcow2" };
    return fs.existsSync(keptDisk) ? { path: keptDisk, format: "qcow2" } : null;
  }

  async publishPort(sandboxDir: string, guestPort: number, hostPort: number | null) {
    const socket = path.join(qemuPaths(sandboxDir).runtimeDir, QMP_SOCKET_NAME);
    if (!fs.existsSync(socket)) {
      throw new PyroError(
        "invalid_state",
        "this sandbox's guest was not booted with network_policy egress+published-ports (no qemu monitor); reset it to boot it with this version",
        { reason: "no_monitor" },
      );
    }
    const guestIp = GUEST_NET.address.split("/")[0] as string;
    // A free port may be taken between our probe and qemu's bind: try a few.
    for (let attempt = 0; ; attempt += 1) {
      const port = hostPort ?? (await freeLoopbackPort());
      const [output = ""] = await humanMonitorCommands(socket, [
        `hostfwd_add ${NETDEV_ID} tcp:127.0.0.1:${port}-${guestIp}:${guestPort}`,
      ]);
      if (output.trim() === "") return port;
      if (hostPort !== null || attempt >= 4) {
        throw new PyroError(
          "invalid_argument",
          `published_ports: could not listen on 127.0.0.1:${port} for guest port ${guestPort} (${output.trim()}); the port is probably taken: pick another host_port or omit it`,
          { field: "published_ports", host_port: port, guest_port: guestPort },
        );
      }
    }
  }

  async unpublishPort(sandboxDir: string, hostPort: number): Promise<void> {
    const socket = path.join(qemuPaths(sandboxDir).runtimeDir, QMP_SOCKET_NAME);
    if (!fs.existsSync(socket)) return;
    await humanMonitorCommands(socket, [`hostfwd_remove ${NETDEV_ID} tcp:127.0.0.1:${hostPort}`]);
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

  async halt(runtime: RuntimeRecord | null, spec: SandboxSpec): Promise<void> {
    const paths = qemuPaths(spec.sandboxDir);
    // Named outside the runtime directory before anything stops (a link, not a copy), so
    // the disk survives this halt being killed at any later step.
    if (fs.existsSync(paths.overlay) && !fs.existsSync(paths.keptDisk)) {
      fs.linkSync(paths.overlay, paths.keptDisk);
    }
    await this.destroy(runtime, spec);
    // A disk restored from a template backs onto the template's disk, which a newer image
    // or agent removes: the kept disk gets its own copy of that layer (a few MB).
    await detachFromTemplate(
      requireTools(["qemu-img"], "keeping a guest disk")["qemu-img"] as string,
      paths.keptDisk,
      spec.sandboxDir,
    );
  }

  private async stop(
    runtime: Pick<RuntimeRecord, "pid" | "pid_start_ticks" | "vmm_pid" | "vmm_pid_start_ticks">,
  ): Promise<void> {
    await stopVm(runtime);
  }
}

/** Stops a VM: its supervisor (SIGTERM, then SIGKILL of its group), then qemu directly. */
async function stopVm(
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

/** What a sandbox asks of qemu it can have; returns the qemu binary. */
function requireBootable(_spec: SandboxSpec): string {
  const qemu = findQemu();
  if (!qemu) {
    throw new PyroError(
      "guest_unavailable",
      "guest boot is unavailable: qemu-system-x86_64 was not found; install it with: apt-get install qemu-system-x86",
      { reason: "qemu_missing" },
    );
  }
  return qemu;
}

/**
 * Why guests cannot have a network on this host (null: they can): qemu must offer its
 * user-mode network (slirp, a build option) and socat must connect it to the proxy.
 */
function guestNetworkProblem(qemu: string): string | null {
  const netdevs = spawnSync(qemu, ["-netdev", "help"], { encoding: "utf8", timeout: 10_000 });
  if (!/^user$/m.test(netdevs.stdout ?? "")) {
    return `${qemu} was built without user-mode networking (-netdev user; Debian's qemu-system-x86 has it)`;
  }
  if (!findTool("socat")) return "socat was not found (apt-get install socat)";
  return null;
}

/** socat connects qemu's guest forwards to the supervisor's sockets (guest-net.ts). */
function requireSocat(): string {
  const socat = findTool("socat");
  if (!socat) {
    throw new PyroError(
      "guest_unavailable",
      "guest networking needs socat on the host, which was not found; install it with: apt-get install socat (or create the sandbox with network_policy off)",
      { field: "network_policy", reason: "network_unsupported" },
    );
  }
  return socat;
}

function supervisorNetwork(spec: SandboxSpec, paths: QemuPaths): SupervisorConfig["network"] {
  if (spec.networkPolicy === "off") return null;
  return {
    policy: spec.networkPolicy,
    allow_hosts: spec.allowHosts,
    proxy_socket: path.join(paths.runtimeDir, PROXY_SOCKET_NAME),
    forward_ports: hostAliasPorts(spec.allowHosts),
    log_file: path.join(spec.sandboxDir, NETWORK_LOG_FILE),
  };
}

/**
 * The guest's disk: a copy-on-write overlay of the environment's image, larger than it; or,
 * for a restore, an overlay of the template's disk (the image <- template <- sandbox chain),
 * whose size it inherits, so the restored guest sees the disk its memory knows.
 */
async function createOverlay(
  qemuImg: string,
  rootfs: string,
  overlay: string,
  template: string | null,
): Promise<void> {
  if (template) {
    await runTool(qemuImg, ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", template, overlay]);
    return;
  }
  await runTool(qemuImg, [
    "create",
    "-q",
    "-f",
    "qcow2",
    "-F",
    "raw",
    "-b",
    rootfs,
    overlay,
    String(fs.statSync(rootfs).size + GUEST_DISK_EXTRA_BYTES),
  ]);
}

/** What every VM launch of one boot shares. */
interface VmLaunch {
  qemu: string;
  qemuImg: string;
  rootfs: string;
  accel: Accelerator;
  bootTimeoutMs: number;
  activityFile: string | null;
  network: SupervisorConfig["network"];
}

/**
 * Starts one VM in `paths.runtimeDir` (a fresh one: a VM a killed caller left there is
 * stopped first) and waits until its agent answers. Nothing of a failed launch survives:
 * supervisor and qemu share a process group that is killed, and the runtime is removed.
 */
async function launchVm(
  vm: VmLaunch,
  paths: QemuPaths,
  launch: {
    args: string[];
    /** A fresh overlay (of the image, or of a template's disk), or the disk a stop kept. */
    disk: { backing: string | null } | "kept";
    timeoutMs: number;
    expiresAt: number;
    restore: SupervisorConfig["restore"];
  },
): Promise<RuntimeRecord> {
  await sweepRuntime(paths);
  fs.rmSync(paths.runtimeDir, { recursive: true, force: true });
  fs.mkdirSync(paths.runtimeDir, { recursive: true, mode: 0o700 });
  let supervisorPid: number | undefined;
  try {
    if (launch.disk === "kept") {
      // A hard link: the kept disk stays named while this VM runs, so a kill -9 of
      // anything at any step never loses the stopped workspace's files.
      if (!fs.existsSync(paths.keptDisk)) {
        throw new PyroError(
          "invalid_state",
          "the stopped workspace's guest disk is missing; reset the workspace to boot a fresh one",
          { reason: "disk_missing" },
        );
      }
      fs.linkSync(paths.keptDisk, paths.overlay);
    } else {
      // A fresh boot (create, reset) starts from the environment: a disk kept by an
      // earlier stop is obsolete.
      fs.rmSync(paths.keptDisk, { force: true });
      fs.rmSync(path.join(path.dirname(paths.keptDisk), KEPT_TEMPLATE_LAYER), { force: true });
      await createOverlay(vm.qemuImg, vm.rootfs, paths.overlay, launch.disk.backing);
    }
    // Sparse: it takes host disk only for the transfer in flight (truncated after each).
    fs.writeFileSync(paths.transferDisk, "", { mode: 0o600 });
    fs.truncateSync(paths.transferDisk, TRANSFER_DISK_BYTES);
    writeSupervisorConfig(paths, {
      qemu: vm.qemu,
      args: launch.args,
      boot_timeout_ms: launch.timeoutMs,
      expires_at: launch.expiresAt,
      activity_file: vm.activityFile,
      network: vm.network,
      restore: launch.restore,
    });
    supervisorPid = spawnSupervisor(paths);
    const ready = await waitForReady(paths, supervisorPid, launch.timeoutMs + 10_000);
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

/**
 * Builds a template in `buildDir`: a cold boot of the sandbox's shape with its RAM a file
 * (`ram.tmp`, mapped shared: see templateArgs) and a QMP socket, saved while running (the
 * devices only: the RAM is already in the file). The VM is stopped afterwards; its disk
 * overlay becomes the template's disk.
 */
async function buildTemplate(
  vm: VmLaunch,
  spec: SandboxSpec,
  artifacts: BootArtifacts,
  buildDir: string,
  key: string,
): Promise<{ state: string; disk: string; ram: string }> {
  const paths = qemuPaths(buildDir);
  const args = qemuArgs(spec, artifacts, paths, vm.accel);
  const check = templateShape(vm.qemu, vm.accel, artifacts, args, paths);
  if (check.key !== key) throw new Error("the template build's shape differs from the sandbox's");
  // Relative to qemu's working directory, the runtime directory (a path too long for
  // sun_path is reached through the directory by the QMP client).
  const qmpSocket = path.join(paths.runtimeDir, QMP_SOCKET_NAME);
  const ram = path.join(buildDir, "ram.tmp");
  let runtime: RuntimeRecord | null = null;
  try {
    // The build's VM is no workspace's: no activity file, no network (templateShape).
    runtime = await launchVm({ ...vm, activityFile: null, network: null }, paths, {
      args: [
        ...templateArgs(args, spec.memMib, ram, true),
        ...["-qmp", `unix:${QMP_SOCKET_NAME},server=on,wait=off`],
      ],
      disk: { backing: null },
      timeoutMs: vm.bootTimeoutMs,
      // A builder killed mid-build leaves this VM; its supervisor ends it soon anyway.
      expiresAt: Date.now() / 1000 + (vm.bootTimeoutMs + 120_000) / 1000,
      restore: null,
    });
    const state = path.join(buildDir, "state.tmp");
    await saveRunningGuest(qmpSocket, state);
    return { state, disk: paths.overlay, ram };
  } finally {
    if (runtime) await stopVm(runtime);
  }
}

function writeSupervisorConfig(
  paths: QemuPaths,
  vm: Pick<
    SupervisorConfig,
    "qemu" | "args" | "boot_timeout_ms" | "expires_at" | "activity_file" | "network" | "restore"
  >,
): void {
  const config: SupervisorConfig = {
    qemu: vm.qemu,
    args: vm.args,
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
    boot_timeout_ms: vm.boot_timeout_ms,
    expires_at: vm.expires_at,
    activity_file: vm.activity_file,
    network: vm.network,
    restore: vm.restore,
  };
  fs.writeFileSync(paths.config, JSON.stringify(config, null, 2), { mode: 0o600 });
}

/**
 * Starts the detached supervisor; returns its pid. It writes runtime/supervisor.pid itself
 * before it starts qemu, so the VM is findable from the directory even if we die next.
 */
function spawnSupervisor(paths: QemuPaths): number {
  const log = fs.openSync(paths.supervisorLog, "a", 0o600);
  try {
    const child = spawn(process.execPath, [supervisorEntry(), paths.config], {
      detached: true,
      stdio: ["ignore", log, log],
      cwd: paths.runtimeDir,
    });
    child.once("error", () => undefined);
    child.unref();
    if (child.pid === undefined) {
      throw new PyroError("backend_error", "could not start the pyro VM supervisor");
    }
    return child.pid;
  } finally {
    fs.closeSync(log);
  }
}

/**
 * A restore that takes this long is abandoned for a cold boot. The boot's own deadline: a
 * restore is slow only on a loaded host, where a cold boot would be slower still (a third of
 * it, 20 s, was too short at load 12 on 2 cores, where restores took 15-20 s).
 */
function restoreTimeout(bootTimeoutMs: number): number {
  return bootTimeoutMs;
}

function bootTimeout(accel: Accelerator): number {
  const raw = Number(process.env.PYRO_BOOT_TIMEOUT_SECONDS);
  return Number.isFinite(raw) && raw > 0 ? raw * 1000 : DEFAULT_BOOT_TIMEOUT_MS[accel];
}

function supervisorEntry(): string {
  return packageFile(path.join("dist", "backends", "qemu", "supervisor.js"));
}

/** A port nothing listens on now on 127.0.0.1 (the kernel's pick). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
