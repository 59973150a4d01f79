/**
 * Launching and stopping one VM: its disk, its transfer disk, its supervisor's config and
 * the detached supervisor process that owns qemu (supervisor.ts).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import {
  isSameProcess,
  killProcessGroup,
  readProcStat,
  waitForExit,
} from "../../process/process-group.js";
import { runTool } from "../../environments/host-tools.js";
import { PyroError } from "../../errors.js";
import { packageFile } from "../../package-root.js";
import type { RuntimeRecord } from "../../store/records.js";
import { inheritedSocketAddress } from "../../protocol/socket-address.js";
import type { Accelerator } from "./detect.js";
import { QEMU_RUNTIME_DIR_FD } from "./qemu-args.js";
import {
  STOP_GRACE_MS,
  removeRuntime,
  sweepRuntime,
  waitForReady,
  type QemuPaths,
} from "./runtime-files.js";
import type { SupervisorConfig } from "./supervisor-config.js";
import { KEPT_TEMPLATE_LAYER } from "./template-disk.js";
import { VOLUME_DRIVE_ID, VOLUME_QMP_SOCKET_NAME } from "./volume-ops.js";
import { VOLUME_BYTES } from "./volume-store.js";

/**
 * How much larger than the environment's image a guest's disk is. The guest agent grows its
 * root filesystem to the disk at boot, so this is /workspace's room beyond the image's own
 * headroom, shared with uploads staged for validation (a push of N bytes needs about 2N
 * while it is extracted). A qcow2 overlay takes host disk only as the guest writes.
 */
const GUEST_DISK_EXTRA_BYTES = 3 * 1024 * 1024 * 1024;
/** An idle workspace's guest is suspended after this (PYRO_IDLE_SUSPEND_SECONDS). */
const DEFAULT_IDLE_SUSPEND_MS = 5 * 60_000;
/**
 * The transfer disk's size: the largest archive one transfer may carry (an upload is capped
 * at 8 GiB by validation) plus room for the tar's own headers.
 */
const TRANSFER_DISK_BYTES = 8 * 1024 * 1024 * 1024 + 256 * 1024 * 1024;

/** Stops a VM: its supervisor (SIGTERM, then SIGKILL of its group), then qemu directly. */
export async function stopVm(
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
export interface VmLaunch {
  qemu: string;
  qemuImg: string;
  rootfs: string;
  accel: Accelerator;
  bootTimeoutMs: number;
  activityFile: string | null;
  network: SupervisorConfig["network"];
  /**
   * The workspace volume's file; `scratchOf` (the empty volume) when the launch creates a
   * throwaway one in the runtime directory (a vm_run, a template build, an older
   * workspace without a volume); `mount`: the supervisor mounts it at /workspace.
   */
  volume: { file: string; scratchOf: string | null; mount: boolean };
  /** The cached empty volume (volume-store.ts), what a throwaway volume starts from. */
  emptyVolume: string;
}

/**
 * Starts one VM in `paths.runtimeDir` (a fresh one: a VM a killed caller left there is
 * stopped first) and waits until its agent answers. Nothing of a failed launch survives:
 * supervisor and qemu share a process group that is killed, and the runtime is removed.
 */
export async function launchVm(
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
  /** The supervisor `prepareLaunch` started in this runtime directory, if any. */
  held?: HeldSupervisor,
): Promise<RuntimeRecord> {
  let supervisor = held;
  try {
    // Started first, held until its config exists: loading it overlaps the disks' creation.
    supervisor ??= await prepareLaunch(paths);
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
    if (vm.volume.scratchOf !== null) {
      await runTool(vm.qemuImg, [
        ...["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", vm.volume.scratchOf],
        ...[vm.volume.file, String(VOLUME_BYTES)],
      ]);
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
      mount_volume: vm.volume.mount,
      suspend: suspendConfig(vm, paths),
    });
    supervisor.release();
    const ready = await waitForReady(paths, supervisor.pid, launch.timeoutMs + 10_000);
    return {
      pid: supervisor.pid,
      pid_start_ticks: readProcStat(supervisor.pid)?.startTicks ?? null,
      socket_path: paths.clientSocket,
      started_at: Date.now() / 1000,
      agent_version: ready.agent_version,
      vmm_pid: ready.vmm_pid,
      vmm_pid_start_ticks: ready.vmm_pid_start_ticks,
    };
  } catch (error) {
    await discardLaunch(paths, supervisor);
    throw error;
  }
}

/**
 * A fresh runtime directory (a VM a killed caller left there is stopped first) with the
 * VM's supervisor loading in it, held until `launchVm` writes its config and releases it.
 * A boot calls this before its other preparations (the volume's new top, the template's
 * lookup), so loading Node, 150-250 ms, overlaps them instead of following them.
 */
export async function prepareLaunch(paths: QemuPaths): Promise<HeldSupervisor> {
  await sweepRuntime(paths);
  fs.rmSync(paths.runtimeDir, { recursive: true, force: true });
  fs.mkdirSync(paths.runtimeDir, { recursive: true, mode: 0o700 });
  return spawnSupervisor(paths);
}

/**
 * Ends a launch that will not go on: nothing of it survives, since supervisor and qemu
 * share a process group, and the runtime directory goes.
 */
export async function discardLaunch(
  paths: QemuPaths,
  supervisor: HeldSupervisor | undefined,
): Promise<void> {
  supervisor?.abandon();
  killProcessGroup(supervisor?.pid, "SIGKILL");
  if (supervisor !== undefined) await waitForExit(supervisor.pid, STOP_GRACE_MS);
  removeRuntime(paths);
}

/**
 * A workspace's guest is suspended when idle (idle-suspend.ts) if it has its own volume
 * (whose monitor saves it) and no network policy: an egress proxy's connections and
 * published ports reach qemu directly, and would find none.
 */
function suspendConfig(vm: VmLaunch, paths: QemuPaths): SupervisorConfig["suspend"] {
  const afterMs = idleSuspendMs();
  if (afterMs === null || vm.activityFile === null) return null;
  if (vm.network !== null || !vm.volume.mount) return null;
  return {
    after_ms: afterMs,
    qmp_socket: path.join(paths.runtimeDir, VOLUME_QMP_SOCKET_NAME),
    state_file: paths.suspendState,
    marker_file: paths.suspendMarker,
    volume_drive: VOLUME_DRIVE_ID,
  };
}

/**
 * How long a workspace's guest may sit idle before its supervisor suspends it
 * (idle-suspend.ts): PYRO_IDLE_SUSPEND_SECONDS, 0 for never; 5 minutes by default.
 */
function idleSuspendMs(): number | null {
  const raw = process.env.PYRO_IDLE_SUSPEND_SECONDS;
  if (raw === undefined || raw.trim() === "") return DEFAULT_IDLE_SUSPEND_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new PyroError(
      "invalid_argument",
      `PYRO_IDLE_SUSPEND_SECONDS must be a number of seconds >= 0 (0: never suspend), got '${raw}'`,
      { field: "PYRO_IDLE_SUSPEND_SECONDS", value: raw },
    );
  }
  return seconds === 0 ? null : Math.max(1, Math.round(seconds * 1000));
}

function writeSupervisorConfig(
  paths: QemuPaths,
  vm: Pick<
    SupervisorConfig,
    | "qemu"
    | "args"
    | "boot_timeout_ms"
    | "expires_at"
    | "activity_file"
    | "network"
    | "restore"
    | "mount_volume"
    | "suspend"
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
    mount_volume: vm.mount_volume,
    suspend: vm.suspend,
  };
  fs.writeFileSync(paths.config, JSON.stringify(config, null, 2), { mode: 0o600 });
}

/**
 * Starts the detached supervisor, held (--wait-for-go) until `release()`: it writes
 * runtime/supervisor.pid itself before it starts qemu, so the VM is findable from the
 * directory even if we die next; if we die before the release, its stdin closes and it
 * exits without starting anything.
 */
export interface HeldSupervisor {
  pid: number;
  /** Its config is written: start the VM. */
  release(): void;
  /** Closes its stdin unreleased (it exits; a failed launch also kills it). */
  abandon(): void;
}

function spawnSupervisor(paths: QemuPaths): HeldSupervisor {
  const log = fs.openSync(paths.supervisorLog, "a", 0o600);
  try {
    const child = spawn(process.execPath, [supervisorEntry(), paths.config, "--wait-for-go"], {
      detached: true,
      stdio: ["pipe", log, log],
      cwd: paths.runtimeDir,
    });
    child.once("error", () => undefined);
    // A supervisor that died before its release: its exit, not EPIPE, is the failure.
    child.stdin?.on("error", () => undefined);
    child.unref();
    if (child.pid === undefined || !child.stdin) {
      throw new PyroError("backend_error", "could not start the pyro VM supervisor");
    }
    const stdin = child.stdin;
    return {
      pid: child.pid,
      release: () => stdin.end("go\n"),
      abandon: () => stdin.destroy(),
    };
  } finally {
    fs.closeSync(log);
  }
}

function supervisorEntry(): string {
  return packageFile(path.join("dist", "backends", "qemu", "supervisor.js"));
}
