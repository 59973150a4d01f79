/**
 * The supervisor's side of idle suspension (idle-suspend.ts has qemu's): when to suspend,
 * holding the clients that connect meanwhile, and resuming for them.
 */
import fs from "node:fs";
import type net from "node:net";

import { agentReportsBusy } from "../../protocol/idle-expiry.js";
import {
  loadSuspendedGuest,
  resumeArgs,
  saveIdleGuest,
  type SuspendConfig,
} from "./idle-suspend.js";
import { requireGuardLoaded } from "./private-discard.js";
import type { GuestRelay } from "./relay.js";
import type { SuspendMarker } from "./supervisor-config.js";
import { log, readConsoleTail } from "./supervisor-io.js";
import {
  connectGuest,
  startQemu,
  stopQemu,
  watchQemu,
  type End,
  type Vm,
} from "./supervised-vm.js";

/** The agent's answer to "does anything run?" during a suspend check. */
const BUSY_CHECK_TIMEOUT_MS = 5_000;
/** How long qemu may take to exit after the save before it is killed. */
const QUIT_GRACE_MS = 5_000;

/** Serves a host client: at once while the guest runs, else once it runs again. */
export function serveClient(vm: Vm, socket: net.Socket, end: End): void {
  if (vm.phase === "running" && vm.relay) {
    vm.relay.attach(socket);
    return;
  }
  socket.pause();
  socket.on("error", () => undefined);
  vm.waiting.add(socket);
  socket.once("close", () => vm.waiting.delete(socket));
  if (vm.phase === "suspended") void resumeGuest(vm, end);
}

/**
 * Checks every few seconds whether the guest has been idle for `suspend.after_ms` (no
 * client traffic, no request in flight) and nothing runs in it; suspends it if so.
 */
export function watchIdle(vm: Vm, end: End): void {
  const suspend = vm.config.suspend;
  if (!suspend) return;
  const every = Math.min(5_000, Math.max(200, Math.floor(suspend.after_ms / 4)));
  let checking = false;
  setInterval(() => {
    if (checking || vm.phase !== "running" || !vm.booted || vm.ending || !vm.relay) return;
    if (vm.relay.idleMs < suspend.after_ms) return;
    checking = true;
    void suspendIfIdle(vm, vm.relay, suspend, end).finally(() => {
      checking = false;
    });
  }, every).unref();
}

async function suspendIfIdle(
  vm: Vm,
  relay: GuestRelay,
  suspend: SuspendConfig,
  end: End,
): Promise<void> {
  // A command, shell or service keeps the guest up (a failed answer counts as busy).
  const busy = await agentReportsBusy((op) => relay.request(op, {}, BUSY_CHECK_TIMEOUT_MS)).catch(
    () => true,
  );
  if (busy) {
    relay.touch();
    return;
  }
  // The guest's dirty pages go to its disks first: should the saved state ever fail to
  // load, the volume then holds everything written before the guest went idle.
  await relay.request("exec", { command: "sync", timeout_seconds: 30 }, 40_000).catch(() => null);
  // A client may have come while the agent answered.
  if (relay.idleMs < suspend.after_ms || vm.phase !== "running" || vm.ending) return;
  const qemu = vm.qemu;
  if (!qemu) return;
  vm.phase = "suspending";
  // Idle clients (a manager's pooled connection) go: each reconnects, which resumes it.
  relay.closeClients();
  const began = Date.now();
  let marker: SuspendMarker;
  try {
    marker = await saveIdleGuest(suspend);
  } catch (error) {
    log(`could not suspend the idle guest (${(error as Error).message}); it keeps running`);
    vm.phase = "running";
    relay.touch(); // tried again only after another idle period
    attachWaiting(vm, relay);
    return;
  }
  if (vm.ending) return;
  // From here qemu's exit and the relay's close are the suspend's, not the VM's end.
  vm.qemu = null;
  vm.relay = null;
  relay.close();
  await stopQemu(qemu, QUIT_GRACE_MS);
  fs.rmSync(vm.config.guest_socket, { force: true });
  vm.saved = marker;
  vm.phase = "suspended";
  log(
    `suspended the idle guest in ${Date.now() - began} ms (${Math.round(marker.state_bytes / 1048576)} MiB saved)`,
  );
  if (vm.waiting.size > 0) void resumeGuest(vm, end);
}

/**
 * Loads the suspended guest into a new qemu and waits for its agent, then serves the
 * clients that waited. A failure ends the VM: the workspace is then stopped, its volume as
 * qemu left it at the save.
 */
async function resumeGuest(vm: Vm, end: End): Promise<void> {
  const suspend = vm.config.suspend;
  if (vm.phase !== "suspended" || vm.ending || !suspend) return;
  vm.phase = "resuming";
  const began = Date.now();
  let relay: GuestRelay;
  try {
    const marker = vm.saved;
    if (!marker) throw new Error("no saved guest");
    const qemu = startQemu(vm.config, resumeArgs(vm.config.args, suspend, marker));
    vm.qemu = qemu;
    watchQemu(vm, qemu, end);
    // As at the restore it came from, the template's RAM stays guarded.
    await loadSuspendedGuest(suspend, () =>
      requireGuardLoaded(qemu.pid, vm.config.restore?.private_discard),
    );
    ({ relay } = await connectGuest(vm, end, {
      timeoutMs: vm.config.boot_timeout_ms,
      greetEveryMs: 250,
    }));
    // The guest's clock stood still while it was saved.
    await relay.syncClock();
  } catch (error) {
    return void end(
      `resuming the suspended guest failed: ${(error as Error).message}; guest console:\n${readConsoleTail(vm.config)}`,
      1,
    );
  }
  vm.saved = null;
  vm.phase = "running";
  log(`resumed the suspended guest in ${Date.now() - began} ms`);
  attachWaiting(vm, relay);
}

function attachWaiting(vm: Vm, relay: GuestRelay): void {
  for (const socket of vm.waiting) {
    relay.attach(socket);
    socket.resume();
  }
  vm.waiting.clear();
}
