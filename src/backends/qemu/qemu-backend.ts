import fs from "node:fs";
import net from "node:net";
import path from "node:path";

import { isSameProcess, sleep } from "../../process/process-group.js";
import type { EnvironmentName } from "../../environments/catalog.js";
import { requireTools } from "../../environments/host-tools.js";
import { ensureAgentCurrent } from "../../environments/pull.js";
import { EnvironmentStore } from "../../environments/store.js";
import { PyroError } from "../../errors.js";
import type { RuntimeRecord } from "../../store/records.js";
import type { Backend, RuntimeCapabilities, SandboxSpec } from "../types.js";
import {
  chooseAccelerator,
  findQemu,
  guestNetworkProblem,
  requireBootable,
  requireSocat,
  type Accelerator,
} from "./detect.js";
import { NETWORK_LOG_FILE } from "../../shared/network-log.js";
import {
  GUEST_NET,
  NETDEV_ID,
  PROXY_SOCKET_NAME,
  QMP_SOCKET_NAME,
  hostAliasPorts,
} from "./guest-net.js";
import { humanMonitorCommands } from "./qmp.js";
import { qemuArgs } from "./qemu-args.js";
import {
  qemuPaths,
  removeRuntime,
  supervisorHoldsGuest,
  supervisorSuspended,
  sweepRuntime,
  type QemuPaths,
} from "./runtime-files.js";
import { ExitSchema, type SupervisorConfig } from "./supervisor-config.js";
import { detachFromTemplate } from "./template-disk.js";
import { restoreFromTemplate } from "./template-restore.js";
import { privateDiscard } from "./private-discard.js";
import { templateShape } from "./template-shape.js";
import { TemplateStore } from "./templates.js";
import {
  discardLaunch,
  launchVm,
  prepareLaunch,
  stopVm,
  type HeldSupervisor,
  type VmLaunch,
} from "./vm-launch.js";
import { cloneVolume, reconcileVolume, sealVolume, volumeForBoot } from "./volume-ops.js";
import { emptyVolume as emptyVolumeFile, layerFile, readIndex, volumeDir } from "./volume-store.js";

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
  private readonly cacheDir: string;

  constructor(environmentCacheDir: string) {
    this.cacheDir = environmentCacheDir;
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
    const paths = qemuPaths(spec.sandboxDir);
    // The supervisor loads while the rest is prepared; the first launch takes it.
    let held: HeldSupervisor | undefined = await prepareLaunch(paths);
    const supervisor = (): HeldSupervisor | undefined => {
      const taken = held;
      held = undefined;
      return taken;
    };
    try {
      const qemuImg = tools["qemu-img"] as string;
      return await this.bootPrepared(spec, paths, { qemu, qemuImg, socat }, supervisor);
    } finally {
      // Not taken: the boot failed before its launch.
      if (held !== undefined) await discardLaunch(paths, held);
    }
  }

  private async bootPrepared(
    spec: SandboxSpec,
    paths: QemuPaths,
    { qemu, qemuImg, socat }: { qemu: string; qemuImg: string; socat: string | null },
    supervisor: () => HeldSupervisor | undefined,
  ): Promise<RuntimeRecord> {
    const environment = spec.environment as EnvironmentName;
    await ensureAgentCurrent(this.store, environment);
    const artifacts = await this.store.bootArtifacts(environment);
    const accel = chooseAccelerator();
    const bootTimeoutMs = bootTimeout(accel.accel);
    const emptyVolume = await emptyVolumeFile(this.cacheDir, qemuImg);
    // A workspace's own volume (its top, or a new top over the point a reset names), or a
    // throwaway one: every guest has the device, so one template fits them all.
    const volume = spec.volume
      ? {
          file: await volumeForBoot(
            spec.sandboxDir,
            spec.resume === true ? null : spec.volume.resetTo,
            async () => emptyVolume,
            qemuImg,
          ),
          scratchOf: null,
          mount: true,
        }
      : { file: paths.scratchVolume, scratchOf: emptyVolume, mount: false };
    const args = qemuArgs(
      spec,
      artifacts,
      { ...paths, volume: volume.file },
      accel.accel,
      socat === null ? undefined : { ...spec, socat },
    );
    const vm: VmLaunch = {
      qemu,
      qemuImg,
      rootfs: artifacts.rootfs,
      accel: accel.accel,
      bootTimeoutMs,
      activityFile: spec.activityFile ?? null,
      network: supervisorNetwork(spec, paths),
      volume,
      emptyVolume,
    };
    if (spec.resume === true) {
      // A stopped workspace boots on the disk it kept (workspace_stop): its memory is gone,
      // so there is nothing a template could restore.
      const runtime = await launchVm(
        vm,
        paths,
        { args, disk: "kept", timeoutMs: bootTimeoutMs, expiresAt: spec.expiresAt, restore: null },
        supervisor(),
      );
      return { ...runtime, boot_mode: "cold", template_fallback: "resumed on its kept disk" };
    }

    // A restore from the shape's booted-guest template, or why not (recorded with the boot).
    // With the private-discard guard, restored guests keep their balloon (private-discard.ts).
    const guard = await privateDiscard(this.cacheDir);
    const shape = templateShape(
      qemu,
      accel.accel,
      artifacts,
      args,
      { ...paths, volume: volume.file },
      guard.library !== null,
    );
    let fallback: string;
    if (shape.key === null) {
      fallback = shape.reason;
    } else {
      try {
        return await restoreFromTemplate(
          this.templates,
          { spec, vm, artifacts, args, paths, shape, guard: guard.library },
          supervisor,
        );
      } catch (error) {
        fallback = `restoring the template failed: ${(error as Error).message}`;
      }
    }
    const runtime = await launchVm(
      vm,
      paths,
      {
        args,
        disk: { backing: null },
        timeoutMs: bootTimeoutMs,
        expiresAt: spec.expiresAt,
        restore: null,
      },
      supervisor(),
    );
    return { ...runtime, boot_mode: "cold", template_fallback: fallback };
  }

  isAlive(runtime: RuntimeRecord): boolean {
    if (!isSameProcess(runtime.pid, runtime.pid_start_ticks)) return false;
    if (runtime.vmm_pid == null) return true;
    if (isSameProcess(runtime.vmm_pid, runtime.vmm_pid_start_ticks ?? null)) return true;
    // The first qemu is gone: the guest may be suspended, or resumed in another qemu.
    return supervisorHoldsGuest(runtime.pid);
  }

  isSuspended(runtime: RuntimeRecord): boolean {
    return supervisorSuspended(runtime.pid);
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
      const exit = ExitSchema().parse(JSON.parse(fs.readFileSync(paths.exit, "utf8")));
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

  async sealVolume(sandboxDir: string, name: string) {
    return sealVolume(sandboxDir, name, this.qemuImg());
  }

  async reconcileVolume(sandboxDir: string, live: string[]): Promise<number> {
    return reconcileVolume(sandboxDir, live);
  }

  async cloneVolume(sourceDir: string, point: string | null, targetDir: string): Promise<void> {
    await cloneVolume(sourceDir, point, targetDir, this.qemuImg());
  }

  workspaceVolume(sandboxDir: string): { path: string; format: "qcow2" } | null {
    const dir = volumeDir(sandboxDir);
    const top = readIndex(dir)?.top;
    const file = top ? layerFile(dir, top) : null;
    return file && fs.existsSync(file) ? { path: file, format: "qcow2" } : null;
  }

  private qemuImg(): string {
    return requireTools(["qemu-img"], "workspace volumes")["qemu-img"] as string;
  }

  private async stop(
    runtime: Pick<RuntimeRecord, "pid" | "pid_start_ticks" | "vmm_pid" | "vmm_pid_start_ticks">,
  ): Promise<void> {
    await stopVm(runtime);
  }
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

function bootTimeout(accel: Accelerator): number {
  const raw = Number(process.env.PYRO_BOOT_TIMEOUT_SECONDS);
  return Number.isFinite(raw) && raw > 0 ? raw * 1000 : DEFAULT_BOOT_TIMEOUT_MS[accel];
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
