/**
 * What the agent prepares once when it runs inside a real guest (it is root there and the
 * guest is ours): the root filesystem grown to its disk, and the agent made hard to starve.
 * None of this runs for the host backend, whose agent is an ordinary host process.
 *
 * Done by the agent rather than by the image's init so that older images, whose init only
 * mounts /proc, /sys, /run and /tmp, get it too: the agent is refreshed in place when it
 * changes, the image is not rebuilt.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";

import { ExecCgroups } from "./exec-cgroup.js";
import { setUpGuestNetwork } from "./guest-network.js";

interface GuestSetup {
  /** Where execs are confined, or null when the guest's kernel offers no cgroup v2. */
  cgroups: ExecCgroups | null;
}

export function prepareGuest(log: (message: string) => void): GuestSetup {
  protectAgent(log);
  growRootFilesystem(log);
  setUpGuestNetwork(log);
  return { cgroups: ExecCgroups.setUp(log) };
}

/**
 * The out-of-memory killer picks the largest process, which in a small guest is the agent
 * (Node.js): one runaway command would take the guest's only way in with it. Children
 * inherit the setting, so every command the agent starts resets its own to 0 (see
 * exec-cgroup.ts and `confineChild`).
 */
function protectAgent(log: (message: string) => void): void {
  try {
    fs.writeFileSync("/proc/self/oom_score_adj", "-1000");
  } catch (error) {
    log(`could not protect the agent from the OOM killer: ${(error as Error).message}`);
  }
}

/**
 * The host creates each guest's disk (a qcow2 overlay of the environment's image) larger
 * than the image, so /workspace has room for real trees and for transfers staged beside
 * them. ext4 grows online: resize2fs on the mounted root takes the filesystem to the end
 * of its disk. An image booted on a disk of its own size is left as it is.
 */
function growRootFilesystem(log: (message: string) => void): void {
  const device = rootDevice();
  if (device === null) return;
  // In the background: the agent answers the supervisor's hello (which carries the host's
  // clock) at once, and the resize takes well under a second.
  const child = spawn("resize2fs", [device], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-500)));
  child.once("error", (error) => log(`could not grow the root filesystem: ${error.message}`));
  child.once("close", (code) => {
    if (code !== 0) {
      const detail = stderr.trim().split("\n").pop() ?? "";
      log(`could not grow the root filesystem on ${device}: ${detail}`);
    }
  });
}

/** The block device mounted as an ext4 root, from /proc/mounts (null: anything else). */
function rootDevice(): string | null {
  let mounts: string;
  try {
    mounts = fs.readFileSync("/proc/mounts", "utf8");
  } catch {
    return null;
  }
  for (const line of mounts.split("\n")) {
    const [device, mountPoint, type] = line.split(" ");
    if (mountPoint === "/" && type === "ext4" && device?.startsWith("/dev/")) return device;
  }
  return null;
}
