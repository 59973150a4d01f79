/**
 * The files of one sandbox's qemu runtime directory, and finding, stopping and removing
 * whatever a boot left there.
 */
import fs from "node:fs";
import path from "node:path";

import {
  isSameProcess,
  killProcessGroup,
  processIsAlive,
  readProcStat,
  sleep,
  waitForExit,
} from "../../process/process-group.js";
import { PyroError } from "../../errors.js";
import { readRecord } from "../../store/records.js";
import { socketPathFor } from "../socket-path.js";
import { ExitSchema, PidFileSchema, ReadySchema, consoleTail } from "./supervisor-config.js";

export const STOP_GRACE_MS = 3_000;
const SUSPEND_MARKER_NAME = "suspended.json";
const VMM_PID_NAME = "vmm.pid";
const EXIT_FILE_NAME = "exit.json";

export interface QemuPaths {
  runtimeDir: string;
  overlay: string;
  /** The transfer disk (src/shared/transfer-disk.ts), a sparse raw file. */
  transferDisk: string;
  /** Held (O_EXCL) by the one host process using the transfer disk. */
  transferLock: string;
  clientSocket: string;
  guestSocket: string;
  consoleLog: string;
  supervisorLog: string;
  config: string;
  ready: string;
  exit: string;
  supervisorPid: string;
  vmmPid: string;
  /** A suspended guest's saved state, and the marker that says it is (idle-suspend.ts). */
  suspendState: string;
  suspendMarker: string;
  /**
   * A stopped workspace's guest disk (workspace_stop), outside the runtime directory that
   * every boot and destroy clears; workspace_start boots on it again.
   */
  keptDisk: string;
  /** A throwaway workspace volume (a sandbox whose /workspace is not on its own volume). */
  scratchVolume: string;
}

export function qemuPaths(sandboxDir: string): QemuPaths {
  const runtimeDir = path.join(sandboxDir, "runtime");
  return {
    runtimeDir,
    overlay: path.join(runtimeDir, "disk.qcow2"),
    scratchVolume: path.join(runtimeDir, "volume.qcow2"),
    transferDisk: path.join(runtimeDir, "transfer.img"),
    transferLock: path.join(runtimeDir, "transfer.lock"),
    clientSocket: socketPathFor(runtimeDir, "agent"),
    guestSocket: socketPathFor(runtimeDir, "guest"),
    consoleLog: path.join(runtimeDir, "console.log"),
    supervisorLog: path.join(runtimeDir, "supervisor.log"),
    config: path.join(runtimeDir, "supervisor.json"),
    ready: path.join(runtimeDir, "ready.json"),
    exit: path.join(runtimeDir, EXIT_FILE_NAME),
    supervisorPid: path.join(runtimeDir, "supervisor.pid"),
    vmmPid: path.join(runtimeDir, VMM_PID_NAME),
    suspendState: path.join(runtimeDir, "suspended.state"),
    suspendMarker: path.join(runtimeDir, SUSPEND_MARKER_NAME),
    keptDisk: path.join(sandboxDir, "disk.qcow2"),
  };
}

export async function waitForReady(
  paths: QemuPaths,
  supervisorPid: number,
  deadlineMs: number,
): Promise<{ agent_version: string; vmm_pid: number; vmm_pid_start_ticks: number | null }> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ready = await readRecord(paths.ready, ReadySchema).catch(() => null);
    if (ready) return ready;
    const exit = await readRecord(paths.exit, ExitSchema).catch(() => null);
    if (exit) {
      throw new PyroError("backend_error", `guest boot failed: ${exit.reason}`, {
        reason: "boot_failed",
      });
    }
    if (!processIsAlive(supervisorPid)) {
      throw new PyroError(
        "backend_error",
        `the VM supervisor exited during boot: ${tailOf(paths.supervisorLog)}; guest console:\n${tailOf(paths.consoleLog)}`,
        { reason: "boot_failed" },
      );
    }
    if (Date.now() > deadline) {
      throw new PyroError(
        "backend_error",
        `guest boot timed out after ${Math.round(deadlineMs / 1000)} s; guest console:\n${tailOf(paths.consoleLog)}`,
        { reason: "boot_timeout" },
      );
    }
    await sleep(25);
  }
}

function tailOf(file: string): string {
  try {
    return consoleTail(fs.readFileSync(file, "utf8"));
  } catch {
    return `(no ${path.basename(file)})`;
  }
}

/**
 * Stops every supervisor and qemu of one sandbox directory, whatever record names them:
 * the pids the supervisor wrote to runtime/ (its own before it starts qemu, then qemu's),
 * and, for a supervisor killed before it wrote them, any process of ours whose command
 * line names this directory's supervisor config or disk overlay.
 */
export async function sweepRuntime(paths: QemuPaths): Promise<void> {
  const targets = new Map<number, number | null>();
  for (const file of [paths.supervisorPid, paths.vmmPid]) {
    const recorded = await readRecord(file, PidFileSchema).catch(() => null);
    if (recorded) targets.set(recorded.pid, recorded.start_ticks);
  }
  const ready = await readRecord(paths.ready, ReadySchema).catch(() => null);
  if (ready) targets.set(ready.vmm_pid, ready.vmm_pid_start_ticks);
  for (const pid of processesNaming(paths)) targets.set(pid, readProcStat(pid)?.startTicks ?? null);
  const live = [...targets].filter(
    ([pid, ticks]) => pid !== process.pid && isSameProcess(pid, ticks),
  );
  for (const [pid] of live) {
    // Supervisor and qemu share a process group led by the supervisor.
    killProcessGroup(pid, "SIGKILL");
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const [pid] of live) await waitForExit(pid, STOP_GRACE_MS);
}

/** Our processes whose arguments name this sandbox's supervisor config or qemu overlay. */
function processesNaming(paths: QemuPaths): number[] {
  const uid = process.getuid?.();
  const overlayArg = `file=${paths.overlay},`;
  const found: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      if (uid !== undefined && fs.statSync(`/proc/${name}`).uid !== uid) continue;
      const args = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (args.some((arg) => arg === paths.config || arg.includes(overlayArg))) found.push(pid);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/**
 * Whether a live supervisor, whose first qemu is gone, still holds its guest: suspended
 * (its marker is there) or resumed in the qemu its vmm.pid names now.
 */
export function supervisorHoldsGuest(supervisorPid: number): boolean {
  const runtimeDir = supervisorRuntimeDir(supervisorPid);
  if (runtimeDir === null) return false;
  // The supervisor writes why the VM ended before anything else as it ends.
  if (fs.existsSync(path.join(runtimeDir, EXIT_FILE_NAME))) return false;
  if (fs.existsSync(path.join(runtimeDir, SUSPEND_MARKER_NAME))) return true;
  try {
    const current = PidFileSchema().parse(
      JSON.parse(fs.readFileSync(path.join(runtimeDir, VMM_PID_NAME), "utf8")),
    );
    return isSameProcess(current.pid, current.start_ticks);
  } catch {
    return false;
  }
}

/** Whether the supervisor's guest is suspended now (idle-suspend.ts). */
export function supervisorSuspended(supervisorPid: number): boolean {
  const runtimeDir = supervisorRuntimeDir(supervisorPid);
  return runtimeDir !== null && fs.existsSync(path.join(runtimeDir, SUSPEND_MARKER_NAME));
}

/** A supervisor's runtime directory: where its config is, the argument it was started with. */
function supervisorRuntimeDir(supervisorPid: number): string | null {
  try {
    const args = fs.readFileSync(`/proc/${supervisorPid}/cmdline`, "utf8").split("\0");
    const config = args.find((arg) => arg.endsWith(`${path.sep}supervisor.json`));
    return config ? path.dirname(config) : null;
  } catch {
    return null;
  }
}

export function removeRuntime(paths: QemuPaths): void {
  fs.rmSync(paths.clientSocket, { force: true });
  fs.rmSync(paths.guestSocket, { force: true });
  fs.rmSync(paths.runtimeDir, { recursive: true, force: true, maxRetries: 3 });
}
