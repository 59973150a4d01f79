import type { ENVIRONMENTS } from "../shared/limits.js";
import { ENVIRONMENT_DESCRIPTIONS } from "../shared/limits.js";

export type EnvironmentName = (typeof ENVIRONMENTS)[number];

/**
 * Bumped whenever the way an environment is built changes (packages, init scripts, image
 * layout). A cached entry built by another recipe version is rebuilt by the next pull.
 */
export const RECIPE_VERSION = 4;

/** Debian release and mirror every environment is bootstrapped from. */
export const DEBIAN_SUITE = "bookworm";
export const DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian";

/**
 * What every guest needs, whatever the environment: Node 18 for the agent, tini as PID 1
 * (reaps orphans), util-linux's `script` for PTY shells (in bsdutils, part of minbase),
 * procps for `ps`, iproute2 to bring up loopback (tcp readiness probes use 127.0.0.1),
 * e2fsprogs to grow the root filesystem, and busybox-static, which the initramfs borrows.
 */
const GUEST_RUNTIME = [
  "nodejs",
  "tini",
  "procps",
  "iproute2",
  "e2fsprogs",
  "busybox-static",
  "ca-certificates",
];

interface EnvironmentRecipe {
  name: EnvironmentName;
  description: string;
  /** Packages added to debootstrap's minbase variant (bash and coreutils are in minbase). */
  packages: string[];
}

export const RECIPES: Record<EnvironmentName, EnvironmentRecipe> = {
  "debian:12": {
    name: "debian:12",
    description: ENVIRONMENT_DESCRIPTIONS["debian:12"],
    packages: [...GUEST_RUNTIME, "git", "less", "curl"],
  },
  "debian:12-base": {
    name: "debian:12-base",
    description: ENVIRONMENT_DESCRIPTIONS["debian:12-base"],
    packages: [...GUEST_RUNTIME],
  },
  "debian:12-build": {
    name: "debian:12-build",
    description: ENVIRONMENT_DESCRIPTIONS["debian:12-build"],
    packages: [...GUEST_RUNTIME, "git", "less", "curl", "build-essential", "pkg-config"],
  },
};

/** `debian:12-build` -> `debian-12-build`: a name that is safe as a directory. */
export function entryDirName(name: EnvironmentName): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "-");
}

/** The Debian package whose kernel every environment boots (resolved to a versioned one). */
export const KERNEL_META_PACKAGE = "linux-image-cloud-amd64";

/**
 * Loaded by the initramfs, dependencies first. Debian's cloud kernel builds virtio as
 * modules; `-M microvm,acpi=on` exposes virtio-mmio devices through ACPI.
 */
export const INITRAMFS_MODULES = [
  "virtio_ring",
  "virtio",
  "virtio_mmio",
  "virtio_blk",
  "virtio_console",
  "virtio-rng",
  // Free page reporting: memory the guest frees goes back to the host (qemu-args.ts).
  "virtio_balloon",
  // Guest networking (network_policy egress): the NIC of qemu's user-mode network. Loaded
  // always; a guest without the device (policy off) simply has no interface but lo.
  "virtio_net",
];

/** The virtio-serial port name the agent and the host agree on. */
export const AGENT_PORT_NAME = "org.pyro.agent";
