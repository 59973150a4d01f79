/**
 * One-shot VMs get terminals too (`pyro run -it`), through the same agent operations as
 * workspace shells; these are Manager methods for the CLI, not catalogue operations (a
 * one-shot VM has no shell API).
 */
import { StateError } from "../errors.js";
import type { AgentRequest, AgentResponse } from "../protocol/operations.js";
import type { ManagerContext } from "./context.js";
import { checkCommand } from "../shared/limits.js";
import { loadLiveVm } from "./vms.js";
import {
  agentShellCall,
  openBody,
  readBody,
  resizeBody,
  writeBody,
  type ReadShellInput,
  type ResizeShellInput,
  type ShellOp,
  type WriteShellInput,
} from "./shell-requests.js";

/** `pyro run -it`: a terminal running `command` in a started one-shot VM. */
export async function openVmTerminal(
  context: ManagerContext,
  vmId: string,
  input: { command: string; cols?: number; rows?: number },
) {
  const body = { ...openBody(input), command: checkCommand(input.command) };
  return vmShellCall(context, vmId, "shell.open", body);
}

/** Reads a one-shot VM's terminal (see openVmTerminal). */
export function readVmTerminal(
  context: ManagerContext,
  vmId: string,
  shellId: string,
  input: ReadShellInput,
) {
  return vmShellCall(context, vmId, "shell.read", readBody(shellId, input));
}

export function writeVmTerminal(
  context: ManagerContext,
  vmId: string,
  shellId: string,
  input: WriteShellInput,
) {
  return vmShellCall(context, vmId, "shell.write", writeBody(shellId, input));
}

export function resizeVmTerminal(
  context: ManagerContext,
  vmId: string,
  shellId: string,
  input: ResizeShellInput,
) {
  return vmShellCall(context, vmId, "shell.resize", resizeBody(shellId, input));
}

async function vmShellCall<Op extends ShellOp>(
  context: ManagerContext,
  vmId: string,
  op: Op,
  body: AgentRequest<Op>,
): Promise<AgentResponse<Op>> {
  const record = await loadLiveVm(context, vmId);
  if (record.state !== "started" || !record.runtime) {
    throw new StateError(
      `vm '${record.vm_id}' must be started for a terminal; it is '${record.state}'`,
      {
        state: record.state,
      },
    );
  }
  return agentShellCall(context, record.runtime, op, body);
}
