/**
 * One VM as its supervisor tracks it, and what a boot and a resume share: starting qemu,
 * noticing its exit, and opening the guest channel the relay shares with host clients.
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import fs from "node:fs";
import type net from "node:net";
import path from "node:path";

import { withSocketAddress } from "../../protocol/socket-address.js";
import { GUARDED_FILE_VARIABLE } from "./private-discard.js";
import { GuestRelay } from "./relay.js";
import type { SupervisorConfig, SuspendMarker } from "./supervisor-config.js";
import { connectWithRetry, log, readConsoleTail, writePidFile } from "./supervisor-io.js";

export interface Vm {
  config: SupervisorConfig;
  /** The running qemu; null while the guest is suspended (idle-suspend.ts). */
  qemu: ChildProcess | null;
  started: number;
  /** The agent answered and the client socket is listening. */
  booted: boolean;
  ending: boolean;
  server: net.Server | null;
  relay: GuestRelay | null;
  /** `running` unless an idle guest is being saved, is saved, or is being loaded again. */
  phase: "running" | "suspending" | "suspended" | "resuming";
  /** The saved guest while `suspended`. */
  saved: SuspendMarker | null;
  /** Clients that connected while the guest was not running: attached once it runs. */
  waiting: Set<net.Socket>;
}

/** Ends the VM once, whoever asks first: records why, closes everything, exits. */
export type End = (reason: string, code: number) => Promise<never>;

/** Spawns qemu with `args` and records its pid next to ours. */
export function startQemu(config: SupervisorConfig, args: string[]): ChildProcess {
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
  const qemu: ChildProcess = spawn(config.qemu, args, {
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

/**
 * qemu failing to start or exiting ends the VM, unless the supervisor let it go itself (a
 * suspend: `vm.qemu` is then no longer this one).
 */
export function watchQemu(vm: Vm, qemu: ChildProcess, end: End): void {
  qemu.once("error", (error) => {
    if (vm.qemu === qemu) void end(`could not start qemu: ${error.message}`, 1);
  });
  qemu.once("exit", (code, signal) => {
    if (vm.qemu !== qemu) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
    const during = vm.booted ? "" : " during boot";
    const tail = vm.booted ? "" : `; guest console:\n${readConsoleTail(vm.config)}`;
    const resuming = vm.phase === "resuming" ? "resuming the suspended guest failed: " : "";
    void end(`${resuming}qemu (pid ${String(qemu.pid)}) ${how}${during}${tail}`, vm.booted ? 0 : 1);
  });
}

/**
 * Stops qemu and waits for it: SIGTERM first, on which qemu closes its block devices,
 * writing out the qcow2 metadata it caches (cache=unsafe ignores the guest's flushes), so a
 * disk kept by a workspace stop or a suspend is consistent; SIGKILL if it has not exited
 * within `graceMs`.
 */
export async function stopQemu(qemu: ChildProcess, graceMs: number): Promise<void> {
  if (qemu.exitCode !== null || qemu.signalCode !== null) return;
  const exited = new Promise((resolve) => qemu.once("exit", resolve));
  qemu.kill("SIGTERM");
  const timer = setTimeout(() => qemu.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Opens qemu's end of the agent port and greets the agent until it answers, within
 * `timeoutMs`. A restored or resumed guest's agent runs as soon as qemu has loaded its
 * state (its port may reopen when the new host side connects): greet often, not every 2 s
 * as for a booting one.
 */
export async function connectGuest(
  vm: Vm,
  end: End,
  { timeoutMs, greetEveryMs }: { timeoutMs: number; greetEveryMs: number },
): Promise<{ relay: GuestRelay; hello: Record<string, unknown> }> {
  const abort = new AbortController();
  const timer = setTimeout(
    () =>
      abort.abort(
        new Error(`the guest agent did not answer within ${Math.round(timeoutMs / 1000)} s`),
      ),
    timeoutMs,
  );
  try {
    const guestSocket = await withSocketAddress(vm.config.guest_socket, (address) =>
      connectWithRetry(address, abort.signal),
    );
    const relay: GuestRelay = new GuestRelay(guestSocket, (error) => {
      // A relay the supervisor closed (a suspend) is not the VM's end.
      if (vm.relay !== relay) return;
      // Usually qemu is exiting: let its exit, the better explanation, be the one recorded.
      setTimeout(
        () =>
          void end(
            `the guest channel closed${error ? `: ${error.message}` : ""}`,
            vm.booted ? 0 : 1,
          ),
        1_000,
      );
    });
    vm.relay = relay;
    const hello = await relay.handshake(abort.signal, greetEveryMs);
    return { relay, hello };
  } finally {
    clearTimeout(timer);
  }
}
