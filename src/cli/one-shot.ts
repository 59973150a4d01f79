import type { Manager } from "../core/manager.js";
import type { OperationContext } from "../operations/index.js";

interface RunResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  execution_mode: string;
}

/**
 * `pyro run`: vm_create, vm_start, vm_exec (which deletes the VM), as separate catalogue
 * calls so that the VM id is known while the command runs: Ctrl-C or a SIGTERM to the CLI
 * deletes the sandbox instead of leaving it running until its TTL. The result is the
 * object `runInVm` / `vm_run` return.
 */
export async function runOneShot(
  manager: Manager,
  input: Record<string, unknown> & { command: string; timeout_seconds?: unknown },
  context: OperationContext = {},
): Promise<RunResult> {
  const { invokeOperation } = await import("../operations/index.js");
  const { command, timeout_seconds, ...createInput } = input;
  const created = (await invokeOperation(manager, "vm_create", createInput)) as { vm_id: string };
  const vmId = created.vm_id;
  const interrupt = (signal: NodeJS.Signals): void => {
    process.stderr.write(`pyro: ${signal}: deleting sandbox ${vmId}\n`);
    void manager
      .deleteVm(vmId)
      .catch(() => undefined)
      .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    await invokeOperation(manager, "vm_start", { vm_id: vmId }, context);
    return (await invokeOperation(manager, "vm_exec", {
      vm_id: vmId,
      command,
      timeout_seconds,
    })) as RunResult;
  } catch (error) {
    await manager.deleteVm(vmId).catch(() => undefined);
    throw error;
  } finally {
    process.removeListener("SIGINT", interrupt);
    process.removeListener("SIGTERM", interrupt);
  }
}
