import os from "node:os";

import type { BackendRegistry } from "../backends/index.js";
import { chooseAccelerator, findQemu, probeKvm, qemuVersion } from "../backends/qemu/detect.js";
import { privateDiscardStatus } from "../backends/qemu/private-discard.js";
import { TemplateStore } from "../backends/qemu/templates.js";
import { findTool } from "../environments/host-tools.js";

/**
 * What `pyro doctor` reports: can this host boot real guests, with which backend, and if
 * not, why and what to install. Read-only and quick: nothing is booted.
 */
export async function doctorReport(backends: BackendRegistry, stateDir: string) {
  const kvm = probeKvm();
  const qemuBinary = findQemu();
  const accel = chooseAccelerator();
  const environments = await backends.environments.list({ full: false });
  const anyInstalled = environments.some((entry) => entry.installed);
  const qemuProblem = !qemuBinary
    ? "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
    : !findTool("qemu-img")
      ? "qemu-img not found (apt-get install qemu-utils)"
      : !findTool("mkfs.ext4") || !findTool("debugfs")
        ? "mkfs.ext4 or debugfs not found, needed for workspace volumes (apt-get install e2fsprogs)"
        : !anyInstalled
          ? "no environment is pulled yet (pyro env pull debian:12)"
          : null;
  const qemuUsable = qemuProblem === null;
  const qemuReason = qemuProblem ?? `boots microvm guests with ${accel.accel.toUpperCase()}`;
  const defaultChoice = await backends.choose("debian:12");
  const chosen = defaultChoice.backend;
  const capabilities = chosen.capabilities();
  return {
    platform: {
      os: process.platform,
      arch: process.arch,
      kernel: os.release(),
      node: process.version,
    },
    kvm,
    qemu: {
      binary: qemuBinary,
      version: qemuBinary ? qemuVersion(qemuBinary) : null,
      accelerator: accel.accel,
      accelerator_reason: accel.reason,
    },
    backends: [
      { name: "qemu", usable: qemuUsable, reason: qemuReason },
      {
        name: "firecracker",
        usable: false,
        reason: backends.get("firecracker").capabilities().reason,
      },
      {
        name: "host",
        usable: true,
        reason:
          "host_compat: commands run as host processes, without isolation, only with allow_host_compat",
      },
    ],
    selection: backends.selection,
    default_backend: {
      name: chosen.name,
      reason: defaultChoice.noGuestReason ?? `the strongest backend that can boot debian:12`,
    },
    capabilities: {
      vm_boot: capabilities.vm_boot,
      guest_exec: capabilities.guest_exec,
      guest_network: capabilities.guest_network,
      guest_network_reason: capabilities.guest_network
        ? "qemu user-mode networking (restrict=on) behind pyro's egress proxy"
        : (capabilities.guest_network_reason ??
          (chosen.name === "host"
            ? "the host backend cannot isolate the network: its commands share the host's network"
            : (capabilities.reason ?? "no guest backend"))),
    },
    environment_cache: {
      path: backends.environmentCacheDir,
      environments: environments.map((entry) => ({
        name: entry.name,
        status: entry.status,
        reason: entry.reason,
        size_bytes: entry.size_bytes,
      })),
    },
    templates: templateReport(backends.environmentCacheDir),
    // Whether restored guests can give freed memory back (docs/qemu-backend.md).
    private_discard: privateDiscardStatus(backends.environmentCacheDir),
    state_dir: stateDir,
  };
}

/** Booted-guest templates of the qemu backend (docs/qemu-backend.md, "Templates"). */
function templateReport(environmentCacheDir: string) {
  return new TemplateStore(environmentCacheDir).list().map(({ key, manifest }) => ({
    key,
    valid: manifest !== null,
    environment: manifest?.inputs.environment ?? null,
    state_bytes: manifest?.state_bytes ?? null,
    created_at: manifest?.created_at ?? null,
  }));
}

type DoctorReport = Awaited<ReturnType<typeof doctorReport>>;

/** The human rendering of the report. */
export function renderDoctor(report: DoctorReport): string {
  const yes = (value: boolean): string => (value ? "yes" : "no");
  const lines = [
    `platform        ${report.platform.os}/${report.platform.arch}, kernel ${report.platform.kernel}, node ${report.platform.node}`,
    `kvm             ${report.kvm.device}: exists ${yes(report.kvm.exists)}, readable ${yes(report.kvm.readable)}, writable ${yes(report.kvm.writable)}, pvm ${yes(report.kvm.pvm)}`,
    `                ordinary guests: ${yes(report.kvm.usable_for_guests)} (${report.kvm.reason})`,
    `qemu            ${report.qemu.binary ?? "not found"}${report.qemu.version ? ` (${report.qemu.version})` : ""}; accelerator ${report.qemu.accelerator}: ${report.qemu.accelerator_reason}`,
    "backends",
    ...report.backends.map(
      (backend) =>
        `  ${backend.name.padEnd(12)}  ${backend.usable ? "usable" : "unusable"}  ${backend.reason}`,
    ),
    `default         ${report.default_backend.name} (selection ${report.selection}): ${report.default_backend.reason}`,
    `capabilities    vm_boot ${yes(report.capabilities.vm_boot)}, guest_exec ${yes(report.capabilities.guest_exec)}, guest_network ${yes(report.capabilities.guest_network)}`,
    `network         ${report.capabilities.guest_network_reason}`,
    `environments    ${report.environment_cache.path}`,
    ...report.environment_cache.environments.map(
      (entry) =>
        `  ${entry.name.padEnd(16)} ${entry.status}${entry.reason && entry.status !== "installed" ? ` (${entry.reason})` : ""}`,
    ),
    `templates       ${report.templates.length} booted-guest template(s)${report.templates.length ? `: ${report.templates.map((entry) => `${entry.key.slice(0, 12)} ${String(entry.environment)} ${entry.state_bytes === null ? "(damaged)" : `${Math.round(entry.state_bytes / 1e6)} MB`}`).join(", ")}` : ""}`,
    `memory return   restored guests ${report.private_discard.available ? "give freed memory back" : "keep freed memory until a reset"} (private-discard guard: ${report.private_discard.detail})`,
    `state           ${report.state_dir}`,
  ];
  return `${lines.join("\n")}\n`;
}
