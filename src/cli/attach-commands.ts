/**
 * The two commands that put a person's terminal on a sandbox PTY: `pyro workspace attach`
 * (a workspace's persistent shell, left running on detach) and `pyro run -it` (a one-shot
 * VM whose terminal runs one command; the VM is deleted when the session ends).
 */
import type { Manager } from "../core/manager.js";
import { ValidationError } from "../errors.js";
import { DEFAULT_DETACH_KEYS, describeDetachKeys, parseDetachKeys } from "./attach-keys.js";
import {
  replayCursor,
  requireTerminal,
  resizeTerminal,
  runTerminalSession,
  type SessionEnd,
  type TerminalTarget,
} from "./attach-session.js";
import { EXIT_ERROR, makeManager, printError } from "./output.js";

/** The detach keys from --detach-keys, else $PYRO_DETACH_KEYS, else Ctrl-P Ctrl-Q. */
function detachKeysOf(flag: string | undefined): Uint8Array | null {
  if (flag !== undefined) return parseDetachKeys(flag);
  const fromEnv = process.env.PYRO_DETACH_KEYS;
  if (fromEnv !== undefined) return parseDetachKeys(fromEnv, "PYRO_DETACH_KEYS");
  return parseDetachKeys(DEFAULT_DETACH_KEYS);
}

function detachHint(keys: Uint8Array | null): string {
  return keys ? `detach with ${describeDetachKeys(keys)}` : "detach keys are off";
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
};

/** `pyro workspace attach WORKSPACE_ID [SHELL_ID]`. */
export async function attachWorkspace(
  workspaceId: string,
  shellId: string | undefined,
  options: { detachKeys?: string; cwd?: string },
): Promise<void> {
  let manager: Manager | undefined;
  try {
    // Checked before anything is opened: a refused attach leaves no shell behind.
    const keys = detachKeysOf(options.detachKeys);
    const size = requireTerminal("pyro workspace attach");
    manager = await makeManager();
    const opened = shellId === undefined;
    const id = opened
      ? (await manager.openShell(workspaceId, { ...size, cwd: options.cwd })).shell_id
      : shellId;
    const m = manager;
    const target: TerminalTarget = {
      read: (cursor, wait, maxChars) =>
        m.readShell(workspaceId, id, { cursor, wait_seconds: wait, max_chars: maxChars }),
      write: (input) => m.writeShell(workspaceId, id, { input, append_newline: false }),
      resize: (cols, rows) => m.resizeShell(workspaceId, id, { cols, rows }),
    };
    const reattach = `pyro workspace attach ${workspaceId} ${id}`;
    let start = { cursor: 0, skipLine: false };
    if (opened) {
      process.stderr.write(`pyro: shell ${id} (${detachHint(keys)}; reattach: ${reattach})\r\n`);
    } else {
      if (options.cwd !== undefined) {
        throw new ValidationError("--cwd applies only when attach opens a new shell", {
          field: "cwd",
          value: options.cwd,
        });
      }
      // Attaching makes the shell this terminal's size, and shows its recent output.
      await resizeTerminal(target, size.cols, size.rows);
      start = await replayCursor(target);
      process.stderr.write(`pyro: attached to shell ${id} (${detachHint(keys)})\r\n`);
    }
    const end = await runTerminalSession(target, { detachKeys: keys, ...start });
    if (end.kind === "exited") {
      // A shell this attach opened is closed once it exits: nobody else knows its id.
      if (opened) await manager.closeShell(workspaceId, id).catch(() => undefined);
      process.exitCode = end.exitCode;
    } else {
      process.stderr.write(`\r\npyro: ${endReason(end)} from shell ${id}; reattach: ${reattach}\n`);
      process.exitCode = end.kind === "signal" ? (SIGNAL_EXIT[end.signal] ?? EXIT_ERROR) : 0;
    }
  } catch (error) {
    printError(error, false);
    process.exitCode = EXIT_ERROR;
  } finally {
    manager?.close();
  }
}

function endReason(end: SessionEnd): string {
  return end.kind === "signal" ? `${end.signal}: detached` : "detached";
}

/**
 * `pyro run ENV -it -- CMD`: creates and starts a one-shot VM, runs CMD on a PTY attached
 * to this terminal, and deletes the VM when CMD exits, when the detach keys are typed (a
 * one-shot VM cannot be reattached), or on SIGTERM/SIGHUP. Exits with CMD's exit code.
 */
export async function runInteractive(
  createInput: Record<string, unknown>,
  command: string,
  options: { detachKeys?: string },
  onProgress: ((progress: { message: string }) => void) | undefined,
): Promise<void> {
  let manager: Manager | undefined;
  let vmId: string | undefined;
  // Until the session owns the terminal, a signal deletes the VM being set up.
  const interrupt = (signal: NodeJS.Signals): void => {
    process.stderr.write(`pyro: ${signal}: deleting sandbox ${vmId ?? ""}\n`);
    const deleting = vmId && manager ? manager.deleteVm(vmId) : Promise.resolve();
    void deleting.catch(() => undefined).finally(() => process.exit(SIGNAL_EXIT[signal] ?? 1));
  };
  try {
    const keys = detachKeysOf(options.detachKeys);
    const size = requireTerminal("pyro run -it");
    for (const signal of ENDING_SIGNALS) process.once(signal, interrupt);
    manager = await makeManager();
    const { invokeOperation } = await import("../operations/index.js");
    const created = (await invokeOperation(manager, "vm_create", createInput)) as { vm_id: string };
    vmId = created.vm_id;
    await invokeOperation(manager, "vm_start", { vm_id: vmId }, { onProgress });
    const m = manager;
    const vm = vmId;
    const { shell_id: id } = await m.openVmTerminal(vm, { command, ...size });
    const target: TerminalTarget = {
      read: (cursor, wait, maxChars) =>
        m.readVmTerminal(vm, id, { cursor, wait_seconds: wait, max_chars: maxChars }),
      write: (input) => m.writeVmTerminal(vm, id, { input, append_newline: false }),
      resize: (cols, rows) => m.resizeVmTerminal(vm, id, { cols, rows }),
    };
    if (keys)
      process.stderr.write(
        `pyro: ${detachHint(keys)} (ends the command and deletes the sandbox)\r\n`,
      );
    for (const signal of ENDING_SIGNALS) process.removeListener(signal, interrupt);
    const end = await runTerminalSession(target, { detachKeys: keys, cursor: 0 });
    if (end.kind === "exited") {
      process.exitCode = end.exitCode;
    } else {
      process.stderr.write(`\r\npyro: ${endReason(end)}; deleting sandbox ${vm}\n`);
      process.exitCode = end.kind === "signal" ? (SIGNAL_EXIT[end.signal] ?? EXIT_ERROR) : 0;
    }
  } catch (error) {
    printError(error, false);
    process.exitCode = EXIT_ERROR;
  } finally {
    // The terminal is back in cooked mode, so a Ctrl-C now would kill pyro before the VM
    // is gone: the deletion is under way already, let it finish.
    const stay = (): void => undefined;
    for (const signal of ENDING_SIGNALS) {
      process.removeListener(signal, interrupt);
      process.on(signal, stay);
    }
    if (vmId && manager) await manager.deleteVm(vmId).catch(() => undefined);
    manager?.close();
    for (const signal of ENDING_SIGNALS) process.removeListener(signal, stay);
  }
}

const ENDING_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
