/**
 * The workspace volume inside a guest (docs/qemu-backend.md, "Workspace volumes"): the
 * device the host attached for /workspace, mounted on request, and the freeze around the
 * host's sealing of a copy-on-write point.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";

import { PyroError } from "../errors.js";
import { WORKSPACE_VOLUME_SERIAL } from "../shared/workspace-volume.js";
import { findBlockDevice } from "./block-device.js";
import type { AgentContext } from "./context.js";
import { helperStep, sysHelper } from "./sys-helper.js";

const MOUNT_POINT = "/workspace";
/** mount(2)'s flag for `-o noatime`. */
const MS_NOATIME = 1024;

function isMounted(): boolean {
  try {
    return fs
      .readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .some((line) => line.split(" ")[1] === MOUNT_POINT);
  } catch {
    return false;
  }
}

/**
 * Mounts the workspace volume at /workspace (`volume.mount`, or within `guest.refresh`);
 * `mounted` runs after a mount (the digest prime). Mounting twice is a no-op.
 */
export async function mountWorkspaceVolume(
  mounted: () => void,
): Promise<{ device: string; already_mounted: boolean }> {
  const device = findBlockDevice(WORKSPACE_VOLUME_SERIAL);
  if (!device) {
    throw new PyroError("backend_error", "this guest has no workspace volume device");
  }
  if (isMounted()) return { device, already_mounted: true };
  // A template's kernel probed the placeholder volume it was built with: blocks of it
  // may still be in the buffer cache, and this device now holds another filesystem.
  await helperStep(["flushbufs", device], ["blockdev", "--flushbufs", device]);
  fs.mkdirSync(MOUNT_POINT, { recursive: true });
  await helperStep(
    ["mount", device, MOUNT_POINT, "ext4", String(MS_NOATIME)],
    ["mount", "-t", "ext4", "-o", "noatime", device, MOUNT_POINT],
  );
  mounted();
  return { device, already_mounted: false };
}

/** Registers the volume's operations; `mounted` runs after each mount (the digest prime). */
export function registerVolumeHandlers(context: AgentContext, mounted: () => void): void {
  let thawTimer: NodeJS.Timeout | null = null;
  const thaw = async (): Promise<boolean> => {
    if (thawTimer) clearTimeout(thawTimer);
    thawTimer = null;
    // EINVAL when it is not frozen: nothing to do.
    const answer = await sysHelper.request("thaw", MOUNT_POINT);
    if (answer !== null) return answer.ok;
    return spawnSync("fsfreeze", ["-u", MOUNT_POINT], { timeout: 30_000 }).status === 0;
  };
  context.handlers.set("volume.mount", () => mountWorkspaceVolume(mounted));
  context.handlers.set("volume.freeze", async ({ body }) => {
    if (!isMounted()) {
      throw new PyroError("invalid_state", "/workspace is not on a volume in this guest");
    }
    const after = Math.min(Math.max(Number(body.thaw_after_ms) || 0, 1_000), 60_000);
    // fsfreeze syncs the filesystem first: the device then holds all of /workspace. Still
    // frozen by a host that died before its thaw: it stays frozen, with a new deadline.
    if (thawTimer === null)
      await helperStep(["freeze", MOUNT_POINT], ["fsfreeze", "-f", MOUNT_POINT]);
    else clearTimeout(thawTimer);
    thawTimer = setTimeout(() => void thaw(), after);
    return { frozen: true };
  });
  context.handlers.set("volume.thaw", async () => ({ thawed: await thaw() }));
}
