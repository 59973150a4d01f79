/**
 * The per-VM supervisor (containerd-shim style). The QEMU backend starts it detached; it
 * owns the qemu process, holds the one connection the agent's virtio-serial port allows,
 * shares it with any number of host clients on a Unix socket, suspends an idle workspace's
 * guest and resumes it for the next client (supervisor-suspend.ts), stops the VM at its
 * TTL, and records why the VM ended, so a dead VMM is noticed and explained.
 *
 *   node supervisor.js <runtime>/supervisor.json [--wait-for-go]
 *
 * With --wait-for-go, the launcher starts it before the VM's disks and this config exist,
 * so that loading the supervisor overlaps that work, and writes "go" on its stdin once they
 * do; stdin closing without it means the launch was abandoned: nothing starts.
 */
import fs from "node:fs";
import net from "node:net";

import { readProcStat } from "../../process/process-group.js";
import { scheduleSandboxExpiry } from "../../protocol/idle-expiry.js";
import { listenAtomically } from "../../protocol/listen.js";
import { writeJsonAtomic } from "../../store/atomic.js";
import { safeParse } from "../../shared/fast-check.js";
import { SupervisorConfigSchema, type VmExit } from "./supervisor-config.js";
import { launchReleased, log, readConsoleTail, writePidFile } from "./supervisor-io.js";
import {
  mountVolume,
  refreshRestoredGuest,
  startIncoming,
  startNetwork,
} from "./supervisor-steps.js";
import { serveClient, watchIdle } from "./supervisor-suspend.js";
import {
  connectGuest,
  startQemu,
  stopQemu,
  watchQemu,
  type End,
  type Vm,
} from "./supervised-vm.js";

/** How often the guest's clock is brought back to the host's (see GuestRelay.syncClock). */
const CLOCK_RESYNC_MS = 5_000;
/** How long qemu may take to close its disks on SIGTERM (within the backend's stop grace). */
const QEMU_TERM_GRACE_MS = 2_000;

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (!configPath) throw new Error("usage: supervisor.js CONFIG.json [--wait-for-go]");
  if (process.argv[3] === "--wait-for-go" && !(await launchReleased())) {
    log("the launch was abandoned before its config was written: nothing started");
    return;
  }
  const parsed = safeParse(SupervisorConfigSchema, JSON.parse(fs.readFileSync(configPath, "utf8")));
  if (!parsed.success) throw parsed.error;
  const config = parsed.data;
  // Findable from the runtime directory before qemu exists: a destroy that runs after the
  // process that started us died (kill -9 of a reset) must still find and stop this VM.
  // If the directory is gone (a destroy swept it), the VM must not start at all.
  writePidFile(config.supervisor_pid_file, process.pid);
  // The guest's only way out listens before the guest exists (egress-proxy.ts).
  await startNetwork(config);
  const started = Date.now();
  const qemu = startQemu(config, config.args);
  const vm: Vm = {
    config,
    qemu,
    started,
    booted: false,
    ending: false,
    server: null,
    relay: null,
    phase: "running",
    saved: null,
    waiting: new Set(),
  };
  const end = ender(vm);
  watchQemu(vm, qemu, end);
  watchVm(vm, end);
  try {
    if (config.restore) await startIncoming(config.restore, qemu);
    await bootGuest(vm, end);
  } catch (error) {
    await end(
      `boot failed: ${(error as Error).message}; guest console:\n${readConsoleTail(config)}`,
      1,
    );
  }
  watchIdle(vm, end);
}

/** Ends the VM once, whoever asks first: records why, closes everything, kills qemu, exits. */
function ender(vm: Vm): End {
  const { config } = vm;
  return async (reason, code) => {
    if (vm.ending) return new Promise<never>(() => undefined);
    vm.ending = true;
    log(`ending: ${reason}`);
    const exit: VmExit = { reason, at: Date.now() / 1000, during_boot: !vm.booted };
    await writeJsonAtomic(config.exit_file, exit).catch(() => undefined);
    // A suspended guest's memory is never loaded again once its VM has ended; the marker
    // goes before any client can see its connection close and look.
    if (config.suspend) {
      fs.rmSync(config.suspend.marker_file, { force: true });
      for (const file of [config.suspend.state_file, `${config.suspend.state_file}.partial`]) {
        fs.rmSync(file, { force: true });
      }
    }
    vm.server?.close();
    fs.rmSync(config.client_socket, { force: true });
    for (const socket of vm.waiting) socket.destroy();
    vm.relay?.close();
    if (vm.qemu) await stopQemu(vm.qemu, QEMU_TERM_GRACE_MS);
    fs.rmSync(config.guest_socket, { force: true });
    process.exit(code);
  };
}

/** What else ends the VM: a stop signal, the TTL or the idle ttl_seconds. */
function watchVm(vm: Vm, end: End): void {
  const { config } = vm;
  process.on("SIGTERM", () => void end("stopped by pyro", 0));
  process.on("SIGINT", () => void end("stopped by pyro", 0));
  process.on("SIGHUP", () => undefined);
  scheduleSandboxExpiry({
    expiresAt: config.expires_at,
    activityFile: config.activity_file ?? null,
    // Asked through our own client socket, once the guest has answered; a suspended guest
    // is idle (nothing ran in it when it was saved), and asking would resume it.
    agentSocket: () => (vm.booted && vm.phase === "running" ? config.client_socket : null),
    onExpire: (reason) => void end(reason, 0),
  });
}

/**
 * Boot: qemu creates its end of the port at once; the agent answers seconds later. Then
 * the client socket opens and ready.json says so.
 */
async function bootGuest(vm: Vm, end: End): Promise<void> {
  const { config } = vm;
  const { relay, hello } = await connectGuest(vm, end, {
    timeoutMs: config.boot_timeout_ms,
    greetEveryMs: config.restore ? 250 : 2_000,
  });
  if (config.restore) log(`restored guest's agent answered after ${Date.now() - vm.started} ms`);
  // A restored guest is the template's memory: new entropy, time and identity come first.
  const refresh = config.restore ? await refreshRestoredGuest(relay, hello, config) : null;
  if (config.restore) log(`restored guest refreshed after ${Date.now() - vm.started} ms`);
  // A refresh mounts the volume itself (one round trip less); an older agent's did not.
  if (config.mount_volume === true && !refresh?.volume) await mountVolume(relay, hello);
  // The clock comes from the kernel command line, as old as the boot: ready means in step.
  const clock = await relay.syncClock();
  if (clock && Math.abs(clock.offsetMs) > 500) {
    log(`guest clock still ${Math.round(clock.offsetMs)} ms off after the boot's sync`);
  }
  setInterval(() => {
    if (vm.phase === "running") void vm.relay?.syncClock();
  }, CLOCK_RESYNC_MS).unref();
  const clients = net.createServer((socket) => serveClient(vm, socket, end));
  await listenAtomically(clients, config.client_socket);
  vm.server = clients;
  vm.booted = true;
  const bootMs = Date.now() - vm.started;
  const qemu = vm.qemu;
  await writeJsonAtomic(config.ready_file, {
    vmm_pid: qemu?.pid,
    vmm_pid_start_ticks:
      qemu?.pid === undefined ? null : (readProcStat(qemu.pid)?.startTicks ?? null),
    agent_version: String(hello.agent_version),
    boot_ms: bootMs,
    refresh,
  });
  log(`guest agent ${String(hello.agent_version)} answered after ${bootMs} ms`);
}

main().catch((error: Error) => {
  log(`fatal: ${error.stack ?? error.message}`);
  process.exit(1);
});
