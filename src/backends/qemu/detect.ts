import { spawnSync } from "node:child_process";
import fs from "node:fs";

import { findTool } from "../../environments/host-tools.js";
import { PyroError } from "../../errors.js";
import type { SandboxSpec } from "../types.js";

const QEMU_BINARY = "qemu-system-x86_64";

export interface KvmReport {
  device: string;
  exists: boolean;
  readable: boolean;
  writable: boolean;
  /** kvm_pvm is loaded: a paravirtualised KVM that ordinary guest kernels hang under. */
  pvm: boolean;
  /** Whether an ordinary kernel can run under it (what `-accel kvm` needs). */
  usable_for_guests: boolean;
  reason: string;
}

/**
 * Decides whether KVM can run an ordinary guest, by looking instead of trying: on a host
 * with PVM (kvm_pvm loaded, no kvm_intel/kvm_amd, no vmx/svm flags) /dev/kvm opens fine
 * but a normal kernel hangs right after "Probing EDD", so a probe boot would only waste
 * its timeout. `$PYRO_QEMU_ACCEL=kvm|tcg` overrides the decision.
 */
export function probeKvm(device = "/dev/kvm"): KvmReport {
  const exists = fs.existsSync(device);
  const readable = exists && canAccess(device, fs.constants.R_OK);
  const writable = exists && canAccess(device, fs.constants.W_OK);
  const pvm = fs.existsSync("/sys/module/kvm_pvm");
  const vendorModule =
    fs.existsSync("/sys/module/kvm_intel") || fs.existsSync("/sys/module/kvm_amd");
  const cpuFlags = readCpuFlags();
  const hasVirtFlags = cpuFlags.has("vmx") || cpuFlags.has("svm");
  let reason: string;
  let usable = false;
  if (!exists) reason = `${device} does not exist (no KVM on this host)`;
  else if (!readable || !writable) reason = `${device} is not readable and writable by this user`;
  else if (pvm && !vendorModule)
    reason =
      "KVM here is PVM (kvm_pvm): it runs only PVM-aware guest kernels, and an ordinary kernel hangs under it";
  else if (!vendorModule)
    reason = "neither kvm_intel nor kvm_amd is loaded, so KVM cannot run ordinary guests";
  else if (!hasVirtFlags) reason = "the CPU does not advertise vmx or svm";
  else {
    usable = true;
    reason = "KVM can run ordinary guests";
  }
  return { device, exists, readable, writable, pvm, usable_for_guests: usable, reason };
}

export type Accelerator = "kvm" | "tcg";

export function chooseAccelerator(env: NodeJS.ProcessEnv = process.env): {
  accel: Accelerator;
  reason: string;
} {
  const forced = env.PYRO_QEMU_ACCEL;
  if (forced === "kvm" || forced === "tcg") {
    return { accel: forced, reason: `forced by PYRO_QEMU_ACCEL=${forced}` };
  }
  const kvm = probeKvm();
  return kvm.usable_for_guests
    ? { accel: "kvm", reason: kvm.reason }
    : { accel: "tcg", reason: `software emulation (TCG): ${kvm.reason}` };
}

export function findQemu(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PYRO_QEMU_BINARY) return env.PYRO_QEMU_BINARY;
  return findTool(QEMU_BINARY, env);
}

/** `QEMU emulator version 7.2.22 ...` -> "7.2.22"; null when it cannot be run. */
export function qemuVersion(binary: string): string | null {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 5_000 });
  if (result.status !== 0) return null;
  return /version (\S+)/.exec(result.stdout)?.[1] ?? result.stdout.split("\n")[0] ?? null;
}

/**
 * The host's clock rate in kHz (from /proc/cpuinfo), which is also the TSC rate a TCG guest
 * sees. Handed to the guest kernel as `tsc_early_khz`: under TCG its PIT calibration fails
 * now and then (measured: 2 boots in 6), it marks the TSC unstable and hangs before
 * userspace. With the rate given, 8 boots in 8 came up.
 */
export function hostTscKhz(): number | null {
  try {
    const mhz = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1];
    const khz = mhz ? Math.round(Number(mhz) * 1000) : NaN;
    return Number.isFinite(khz) && khz > 0 ? khz : null;
  } catch {
    return null;
  }
}

function canAccess(file: string, mode: number): boolean {
  try {
    fs.accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}

function readCpuFlags(): Set<string> {
  try {
    const text = fs.readFileSync("/proc/cpuinfo", "utf8");
    const line = /^flags\s*:(.*)$/m.exec(text)?.[1] ?? "";
    return new Set(line.trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

/** What a sandbox asks of qemu it can have; returns the qemu binary. */
export function requireBootable(_spec: SandboxSpec): string {
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
export function guestNetworkProblem(qemu: string): string | null {
  const netdevs = spawnSync(qemu, ["-netdev", "help"], { encoding: "utf8", timeout: 10_000 });
  if (!/^user$/m.test(netdevs.stdout ?? "")) {
    return `${qemu} was built without user-mode networking (-netdev user; Debian's qemu-system-x86 has it)`;
  }
  if (!findTool("socat")) return "socat was not found (apt-get install socat)";
  return null;
}

/** socat connects qemu's guest forwards to the supervisor's sockets (guest-net.ts). */
export function requireSocat(): string {
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
