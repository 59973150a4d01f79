/**
 * The per-VM supervisor (containerd-shim style). The QEMU backend starts it detached; it
 * owns the qemu process, holds the one connection the agent's virtio-serial port allows,
 * shares it with any number of host clients on a Unix socket, stops the VM at its TTL,
 * and records why the VM ended, so a dead VMM is noticed and explained.
 *
 *   node supervisor.js <runtime>/supervisor.json [--wait-for-go]
 *
 * With --wait-for-go, the launcher starts it before the VM's disks and this config exist,
 * so that loading the supervisor overlaps that work, and writes "go" on its stdin once they
 * do; stdin closing without it means the launch was abandoned: nothing starts.
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

import { readProcStat, sleep } from "../../process/process-group.js";
import { scheduleSandboxExpiry } from "../../protocol/idle-expiry.js";
import { listenAtomically } from "../../protocol/listen.js";
import { withSocketAddress } from "../../protocol/socket-address.js";
import { writeJsonAtomic } from "../../store/atomic.js";
import { safeParse } from "../../shared/fast-check.js";
import { parseAllowHosts } from "../../shared/network-policy.js";
import { createEgressProxy, forwardServer } from "./egress-proxy.js";
import { forwardSocketName } from "./guest-net.js";
import { GUARDED_FILE_VARIABLE, hasGuardLoaded } from "./private-discard.js";
import { Qmp } from "./qmp.js";
import { GuestRelay } from "./relay.js";
import { IGNORE_SHARED } from "./template-migration.js";
import {
  SupervisorConfigSchema,
  consoleTail,
  type SupervisorConfig,
  type VmExit,
} from "./supervisor-config.js";

/** Open guest connections the egress proxy (and each forwarded port) serves at once. */
const MAX_GUEST_CONNECTIONS = 256;
/** How often the guest's clock is brought back to the host's (see GuestRelay.syncClock). */
const CLOCK_RESYNC_MS = 5_000;
/** How long qemu may take to close its disks on SIGTERM (within the backend's stop grace). */
const QEMU_TERM_GRACE_MS = 2_000;

const log = (message: string): void =>
  console.error(`${new Date().toISOString()} pyro-supervisor: ${message}`);

/** One VM as the supervisor tracks it. */
interface Vm {
  config: SupervisorConfig;
  qemu: ChildProcess;
  started: number;
  /** The agent answered and the client socket is listening. */
  booted: boolean;
  ending: boolean;
  server: net.Server | null;
  relay: GuestRelay | null;
}
type End = (reason: string, code: number) => Promise<never>;

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
  const qemu = startQemu(config);
  const vm: Vm = { config, qemu, started, booted: false, ending: false, server: null, relay: null };
  const end = ender(vm);
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
}

/** Spawns qemu and records its pid next to ours. */
function startQemu(config: SupervisorConfig): ChildProcess {
  const stdio: StdioOptions = ["ignore", "inherit", "inherit"];
  if (config.runtime_dir_fd !== null) {
    // qemu sees the runtime directory as this descriptor (a socket path too long for
    // sun_path is bound through it); spawn places stdio entries at their own indexes.
    while (stdio.length < config.runtime_dir_fd) stdio.push("ignore");
    stdio.push(
      fs.openSync(
        path.dirname(config.guest_socket),
        fs.constants.O_RDONLY | fs.constants.O_DIRECTORY,
      ),
    );
  }
  // qemu's working directory is the runtime directory: the connectors it spawns for guest
  // forwards (guest-net.ts) name their sockets relative to it.
  const guard = config.restore?.private_discard;
  const qemu: ChildProcess = spawn(config.qemu, config.args, {
    stdio,
    cwd: path.dirname(config.guest_socket),
    env: guard
      ? { ...process.env, LD_PRELOAD: guard.library, [GUARDED_FILE_VARIABLE]: guard.ram_file }
      : process.env,
  });
  log(`started ${config.qemu} (pid ${String(qemu.pid)})`);
  if (qemu.pid !== undefined) {
    try {
      writePidFile(config.vmm_pid_file, qemu.pid);
    } catch (error) {
      qemu.kill("SIGKILL");
      throw error;
    }
  }
  return qemu;
}

/** Ends the VM once, whoever asks first: records why, closes everything, kills qemu, exits. */
function ender(vm: Vm): End {
  const { config, qemu } = vm;
  return async (reason, code) => {
    if (vm.ending) return new Promise<never>(() => undefined);
    vm.ending = true;
    log(`ending: ${reason}`);
    const exit: VmExit = { reason, at: Date.now() / 1000, during_boot: !vm.booted };
    await writeJsonAtomic(config.exit_file, exit).catch(() => undefined);
    vm.server?.close();
    fs.rmSync(config.client_socket, { force: true });
    vm.relay?.close();
    if (qemu.exitCode === null && qemu.signalCode === null) {
      // SIGTERM first: qemu then closes its block devices, writing out the qcow2 metadata it
      // caches (cache=unsafe ignores the guest's flushes), so a disk kept by a workspace
      // stop is consistent. SIGKILL if it does not exit soon.
      const exited = new Promise((resolve) => qemu.once("exit", resolve));
      qemu.kill("SIGTERM");
      const timer = setTimeout(() => qemu.kill("SIGKILL"), QEMU_TERM_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(config.guest_socket, { force: true });
    process.exit(code);
  };
}

/** What ends the VM: qemu exiting or failing to start, a stop signal, the TTL. */
function watchVm(vm: Vm, end: End): void {
  const { config, qemu } = vm;
  qemu.once("error", (error) => void end(`could not start qemu: ${error.message}`, 1));
  qemu.once("exit", (code, signal) => {
    const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
    const during = vm.booted ? "" : " during boot";
    const tail = vm.booted ? "" : `; guest console:\n${readConsoleTail(config)}`;
    void end(`qemu (pid ${String(qemu.pid)}) ${how}${during}${tail}`, vm.booted ? 0 : 1);
  });
  process.on("SIGTERM", () => void end("stopped by pyro", 0));
  process.on("SIGINT", () => void end("stopped by pyro", 0));
  process.on("SIGHUP", () => undefined);
  scheduleSandboxExpiry({
    expiresAt: config.expires_at,
    activityFile: config.activity_file ?? null,
    // Asked through our own client socket, once the guest has answered.
    agentSocket: () => (vm.booted ? config.client_socket : null),
    onExpire: (reason) => void end(reason, 0),
  });
}

/**
 * Boot: qemu creates its end of the port at once; the agent answers seconds later. Then
 * the client socket opens and ready.json says so.
 */
async function bootGuest(vm: Vm, end: End): Promise<void> {
  const { config, qemu } = vm;
  const bootAbort = new AbortController();
  const bootTimer = setTimeout(
    () =>
      bootAbort.abort(
        new Error(
          `the guest agent did not answer within ${Math.round(config.boot_timeout_ms / 1000)} s`,
        ),
      ),
    config.boot_timeout_ms,
  );
  const guestSocket = await withSocketAddress(config.guest_socket, (address) =>
    connectWithRetry(address, bootAbort.signal),
  );
  const guest = new GuestRelay(guestSocket, (error) => {
    // Usually qemu is exiting: let its exit, the better explanation, be the one recorded.
    setTimeout(
      () =>
        void end(`the guest channel closed${error ? `: ${error.message}` : ""}`, vm.booted ? 0 : 1),
      1_000,
    );
  });
  vm.relay = guest;
  // A restored guest's agent runs as soon as qemu has loaded the state (its port may reopen
  // when the new host side connects): greet often, not every 2 s as for a booting one.
  const hello = await guest.handshake(bootAbort.signal, config.restore ? 250 : 2_000);
  if (config.restore) log(`restored guest's agent answered after ${Date.now() - vm.started} ms`);
  // A restored guest is the template's memory: new entropy, time and identity come first.
  const refresh = config.restore ? await refreshRestoredGuest(guest, hello, config) : null;
  if (config.restore) log(`restored guest refreshed after ${Date.now() - vm.started} ms`);
  // A refresh mounts the volume itself (one round trip less); an older agent's did not.
  if (config.mount_volume === true && !refresh?.volume) await mountVolume(guest, hello);
  clearTimeout(bootTimer);
  // The clock comes from the kernel command line, as old as the boot: ready means in step.
  const clock = await guest.syncClock();
  if (clock && Math.abs(clock.offsetMs) > 500) {
    log(`guest clock still ${Math.round(clock.offsetMs)} ms off after the boot's sync`);
  }
  setInterval(() => void guest.syncClock(), CLOCK_RESYNC_MS).unref();
  const clients = net.createServer((socket) => guest.attach(socket));
  await listenAtomically(clients, config.client_socket);
  vm.server = clients;
  vm.booted = true;
  const bootMs = Date.now() - vm.started;
  await writeJsonAtomic(config.ready_file, {
    vmm_pid: qemu.pid,
    vmm_pid_start_ticks:
      qemu.pid === undefined ? null : (readProcStat(qemu.pid)?.startTicks ?? null),
    agent_version: String(hello.agent_version),
    boot_ms: bootMs,
    refresh,
  });
  log(`guest agent ${String(hello.agent_version)} answered after ${bootMs} ms`);
}

/**
 * A restore: qemu waits for its state (`-incoming defer`); its RAM is the template's file
 * and stays out of the stream (`x-ignore-shared`, templates.ts), then the load starts.
 */
async function startIncoming(
  restore: NonNullable<SupervisorConfig["restore"]>,
  qemu: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  let qmp: Qmp | null = null;
  while (!qmp) {
    try {
      qmp = await Qmp.connect(restore.qmp_socket);
    } catch (error) {
      // qemu creates its socket as it starts: retry until it is there.
      if (Date.now() > deadline) {
        throw new Error(`qemu's QMP socket: ${(error as Error).message}`, { cause: error });
      }
      await sleep(20);
    }
  }
  try {
    const guard = restore.private_discard;
    // QMP answers after ld.so mapped every preload. Without the guard a page the guest
    // reports free would punch a hole in the template all restores share: boot cold.
    if (guard && (qemu.pid === undefined || !hasGuardLoaded(qemu.pid, guard.library))) {
      throw new Error(`qemu did not load the private-discard guard ${guard.library}`);
    }
    await qmp.execute("migrate-set-capabilities", { capabilities: IGNORE_SHARED });
    await qmp.execute("migrate-incoming", { uri: restore.incoming_uri });
  } finally {
    qmp.close();
  }
}

/** The egress proxy and the host-alias forwarders of a guest with a network policy. */
async function startNetwork(config: SupervisorConfig): Promise<void> {
  const network = config.network;
  if (!network) return;
  const rules = parseAllowHosts(network.allow_hosts);
  const runtimeDir = path.dirname(network.proxy_socket);
  const proxy = createEgressProxy({ rules, logFile: network.log_file });
  // qemu spawns a socat on the host per guest connection; it ends as soon as we close its
  // connection, so capping ours caps how many a guest can keep alive at once.
  proxy.maxConnections = MAX_GUEST_CONNECTIONS;
  await listenAtomically(proxy, network.proxy_socket);
  for (const port of network.forward_ports) {
    const forward = forwardServer(port, network.log_file);
    forward.maxConnections = MAX_GUEST_CONNECTIONS;
    await listenAtomically(forward, path.join(runtimeDir, forwardSocketName(port)));
  }
  log(
    `egress proxy up (${network.policy}; allow_hosts: ${network.allow_hosts.join(" ") || "any public host"})`,
  );
}

/**
 * Mounts the workspace volume at /workspace, before any client can reach the guest: after
 * a restore's refresh (the template was saved without it mounted) or a cold boot.
 */
async function mountVolume(guest: GuestRelay, hello: Record<string, unknown>): Promise<void> {
  const capabilities = Array.isArray(hello.capabilities) ? hello.capabilities : [];
  if (!capabilities.includes("volume.mount")) {
    throw new Error("the guest's agent cannot mount the workspace volume (an older agent)");
  }
  await guest.request("volume.mount", {}, 30_000);
}

/** Sends `guest.refresh` to a guest restored from a template (see src/agent/refresh.ts). */
async function refreshRestoredGuest(
  guest: GuestRelay,
  hello: Record<string, unknown>,
  config: SupervisorConfig,
): Promise<Record<string, unknown>> {
  const restore = config.restore as NonNullable<SupervisorConfig["restore"]>;
  const capabilities = Array.isArray(hello.capabilities) ? hello.capabilities : [];
  if (!capabilities.includes("guest.refresh")) {
    throw new Error("the restored guest's agent cannot refresh itself (no guest.refresh)");
  }
  const hostname = `pyro-${restore.sandbox_id.toLowerCase().replace(/[^a-z0-9-]/g, "-")}`.slice(
    0,
    63,
  );
  const answer = await guest.request(
    "guest.refresh",
    {
      entropy_b64: randomBytes(64).toString("base64"),
      host_time_ms: Date.now(),
      hostname,
      machine_id: randomBytes(16).toString("hex"),
      instance_id: randomUUID(),
      mount_volume: config.mount_volume === true,
    },
    30_000, // with the mount: a loaded host took seconds for each
  );
  if (answer.rng_reseeded !== true) {
    // Entropy was still mixed in; the CRNG reseeds on its own schedule. Logged, not fatal.
    log(`restored guest's RNG was not reseeded: ${String(answer.rng_detail)}`);
  }
  guest.updateHello({ instance_id: answer.instance_id, restored_at_ms: Date.now() });
  log(`restored guest refreshed from template ${restore.template_key}`);
  return answer;
}

/** `{pid, start_ticks}`, written whole (temp + rename) so a reader never sees half of it. */
function writePidFile(file: string, pid: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(
    temp,
    JSON.stringify({ pid, start_ticks: readProcStat(pid)?.startTicks ?? null }),
    { mode: 0o600 },
  );
  fs.renameSync(temp, file);
}

function readConsoleTail(config: SupervisorConfig): string {
  try {
    return consoleTail(fs.readFileSync(config.console_log, "utf8"));
  } catch {
    return "(no guest console log)";
  }
}

async function connectWithRetry(socketPath: string, signal: AbortSignal): Promise<net.Socket> {
  for (;;) {
    if (signal.aborted) throw signal.reason as Error;
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.createConnection(socketPath);
        socket.once("connect", () => {
          socket.removeAllListeners("error");
          resolve(socket);
        });
        socket.once("error", reject);
      });
    } catch {
      await sleep(20);
    }
  }
}

/** True once the launcher writes "go" on stdin; false if stdin ends first. */
function launchReleased(): Promise<boolean> {
  return new Promise((resolve) => {
    let received = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk: string) => {
      received += chunk;
      if (received.includes("go\n")) {
        resolve(true);
        process.stdin.destroy();
      }
    });
    process.stdin.once("end", () => resolve(received.includes("go\n")));
    process.stdin.once("error", () => resolve(false));
  });
}

main().catch((error: Error) => {
  log(`fatal: ${error.stack ?? error.message}`);
  process.exit(1);
});
