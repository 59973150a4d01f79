/**
 * Suspending an idle workspace guest, and resuming it (issue 12's idle memory). Under TCG an
 * idle guest still holds its translated-code cache (128 MiB), its kernel, agent and slab
 * (about 200 MiB) and qemu itself (75): more than a workspace nobody uses should cost. Once
 * nothing has reached the guest for `after_ms` and nothing runs in it, the supervisor saves
 * the guest to a file in its runtime directory (QMP `migrate`, as a template build does) and
 * qemu exits; the supervisor stays, holding the client socket. The next client that connects
 * is held until qemu has loaded the file again (`-incoming defer`) and the agent answered.
 *
 * The file is the guest's memory as of the moment its disks were last flushed; it is deleted
 * as soon as it is loaded, so it can never be loaded twice (the disks move on from there).
 */
import fs from "node:fs";

import { sleep } from "../../process/process-group.js";
import { writeJsonAtomic } from "../../store/atomic.js";
import { Qmp, driveFile } from "./qmp.js";
import type { SuspendMarker, SupervisorConfig } from "./supervisor-config.js";
import { IGNORE_SHARED, saveRunningGuest, shellQuote } from "./template-migration.js";

export type SuspendConfig = NonNullable<SupervisorConfig["suspend"]>;

/** How long qemu may take to load a suspended guest (200 MB took 2-4 s under TCG). */
const LOAD_TIMEOUT_MS = 60_000;

/**
 * Saves the running guest to `suspend.state_file` and records the marker the host reads
 * (runtime-files.ts: a supervisor without qemu is alive while it exists). qemu has stopped
 * the guest and flushed its disks when this returns; the caller then stops it (supervised-vm.ts, stopQemu). A failure
 * leaves the guest running (qemu resumes the source of a failed migration) and no file.
 */
export async function saveIdleGuest(suspend: SuspendConfig): Promise<SuspendMarker> {
  const qmp = await Qmp.connect(suspend.qmp_socket);
  const volumeFile = await driveFile(qmp, suspend.volume_drive).finally(() => qmp.close());
  const temp = `${suspend.state_file}.partial`;
  try {
    await saveRunningGuest(suspend.qmp_socket, temp);
    // The guest's memory (its secrets too): its owner's alone, as the runtime directory is.
    fs.chmodSync(temp, 0o600);
    syncFile(temp);
    fs.renameSync(temp, suspend.state_file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    await continueGuest(suspend.qmp_socket);
    throw error;
  }
  const marker: SuspendMarker = {
    state_file: suspend.state_file,
    volume_file: volumeFile,
    state_bytes: fs.statSync(suspend.state_file).size,
    suspended_at: Date.now() / 1000,
  };
  await writeJsonAtomic(suspend.marker_file, marker);
  return marker;
}

/**
 * qemu's arguments to load the suspended guest: the same machine, its workspace volume
 * drive opened on the layer qemu wrote when it was saved (a seal switches it while the guest
 * runs: volume-ops.ts), and waiting for its state (`-incoming defer`).
 */
export function resumeArgs(
  args: string[],
  suspend: SuspendConfig,
  marker: SuspendMarker,
): string[] {
  const drive = `id=${suspend.volume_drive},file=`;
  const resumed: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === "-incoming") {
      index += 1; // a template restore's own `-incoming defer`
      continue;
    }
    if (marker.volume_file !== null && arg.startsWith(drive)) {
      // A drive option's value ends at the first single comma (",," is an escaped one).
      const rest = arg.slice(drive.length).replace(/^(?:[^,]|,,)*/, "");
      resumed.push(`${drive}${marker.volume_file.replace(/,/g, ",,")}${rest}`);
      continue;
    }
    resumed.push(arg);
  }
  return [...resumed, "-incoming", "defer"];
}

/**
 * Loads the suspended guest into a qemu started with `resumeArgs` and deletes the file once
 * it is loaded: the guest runs on from it and its disks move on, so it must never be loaded
 * again. Rejects if qemu does not load it; the caller then ends the VM (the workspace's
 * volume is as qemu flushed it at the save).
 */
export async function loadSuspendedGuest(
  suspend: SuspendConfig,
  beforeLoad: () => void,
): Promise<void> {
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  const qmp = await Qmp.connectWhenUp(suspend.qmp_socket, LOAD_TIMEOUT_MS);
  try {
    // QMP answers once qemu is set up (its preloads mapped): checks come before the guest runs.
    beforeLoad();
    await qmp.execute("migrate-set-capabilities", { capabilities: IGNORE_SHARED });
    await qmp.execute("migrate-incoming", { uri: `exec:cat ${shellQuote(suspend.state_file)}` });
    for (;;) {
      const info = (await qmp.execute("query-migrate")) as { status?: string };
      const status = (await qmp.execute("query-status")) as { status?: string };
      if (info.status === "completed" || status.status === "running") break;
      if (info.status === "failed" || status.status === "inmigrate-failed") {
        throw new Error(`qemu could not load the suspended guest (${info.status ?? "failed"})`);
      }
      if (Date.now() > deadline) {
        throw new Error(`qemu did not load the suspended guest within ${LOAD_TIMEOUT_MS} ms`);
      }
      await sleep(50);
    }
  } finally {
    qmp.close();
    fs.rmSync(suspend.state_file, { force: true });
  }
  fs.rmSync(suspend.marker_file, { force: true });
}

/** A failed save can leave the guest paused: run it again (an error here is logged above). */
async function continueGuest(qmpSocket: string): Promise<void> {
  const qmp = await Qmp.connect(qmpSocket).catch(() => null);
  if (!qmp) return;
  try {
    const status = (await qmp.execute("query-status")) as { status?: string };
    if (status.status !== "running") await qmp.execute("cont");
  } catch {
    // qemu is going away: its exit ends the VM
  } finally {
    qmp.close();
  }
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
