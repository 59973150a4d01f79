import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { SANDBOX_ENV, killOwned, sandboxMarker } from "../../process/ownership.js";
import {
  isSameProcess,
  killProcessGroup,
  readProcStat,
  sleep,
  waitForExit,
} from "../../process/process-group.js";
import { PyroError } from "../../errors.js";
import { AgentClient } from "../../protocol/client.js";
import type { RuntimeRecord } from "../../store/records.js";
import type { Backend, RuntimeCapabilities, SandboxSpec } from "../types.js";
import { socketPathFor } from "../socket-path.js";
import { resolveAgentBundle } from "../../shared/agent-bundle.js";

const BOOT_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3_000;

/**
 * The Node.js that runs the agent: this process's own, or `$PYRO_AGENT_NODE` (tests point
 * it at Debian 12's Node 18, the guest's runtime, to prove the bundle runs there).
 */
function agentNode(): string {
  return process.env.PYRO_AGENT_NODE || process.execPath;
}

/** Where the host backend puts /workspace and the agent's files for one sandbox. */
export function hostSandboxPaths(sandboxDir: string): {
  root: string;
  runtimeDir: string;
  stateDir: string;
  socket: string;
  log: string;
} {
  const runtimeDir = path.join(sandboxDir, "runtime");
  const socket = socketPathFor(runtimeDir, "agent");
  return {
    root: path.join(sandboxDir, "workspace"),
    runtimeDir,
    stateDir: path.join(runtimeDir, "agent-state"),
    socket,
    log: path.join(runtimeDir, "agent.log"),
  };
}

/**
 * host_compat: no guest. The pyro agent runs as a detached host process whose /workspace
 * is the sandbox's `workspace/` directory. Commands are ordinary host processes with the
 * caller's privileges, which is why this backend refuses to boot unless the caller passed
 * allow_host_compat.
 */
export class HostBackend implements Backend {
  readonly name = "host" as const;
  readonly executionMode = "host_compat";
  readonly compressesTransfers = false;

  capabilities(): RuntimeCapabilities {
    return {
      vm_boot: false,
      guest_exec: false,
      guest_network: false,
      reason: "the host backend runs commands as host processes (host_compat), without a guest",
    };
  }

  async boot(spec: SandboxSpec): Promise<RuntimeRecord> {
    if (!spec.allowHostCompat) {
      throw new PyroError(
        "guest_unavailable",
        "guest boot is unavailable on the host backend: it runs commands as host processes, only with allow_host_compat (CLI: --allow-host-compat); select the qemu or auto backend to boot a guest",
        { backend: this.name, reason: "host_backend" },
      );
    }
    const paths = hostSandboxPaths(spec.sandboxDir);
    fs.mkdirSync(paths.root, { recursive: true });
    // Only the owner may reach the agent: its socket accepts any command.
    fs.mkdirSync(paths.runtimeDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(paths.runtimeDir, 0o700);
    fs.rmSync(paths.socket, { force: true });
    const agent = resolveAgentBundle();
    const log = fs.openSync(paths.log, "a", 0o600);
    let pid: number | undefined;
    try {
      const child = spawn(
        agentNode(),
        [
          agent,
          "--socket",
          paths.socket,
          "--root",
          paths.root,
          "--state-dir",
          paths.stateDir,
          "--expires-at",
          String(spec.expiresAt),
          ...(spec.activityFile ? ["--activity-file", spec.activityFile] : []),
        ],
        {
          detached: true,
          stdio: ["ignore", log, log],
          cwd: paths.root,
          // Everything the agent starts inherits this marker, so destroy can find what a
          // dead (or SIGKILLed) agent left behind, even processes that left its session.
          env: { ...process.env, [SANDBOX_ENV]: paths.stateDir },
        },
      );
      pid = child.pid;
      let exited: string | null = null;
      child.once("exit", (code, signal) => {
        exited = signal ? `signal ${signal}` : `exit code ${code}`;
      });
      child.once("error", (error) => {
        exited = error.message;
      });
      child.unref();
      if (pid === undefined)
        throw new PyroError("backend_error", "could not start the host agent process");
      const hello = await waitForAgent(paths.socket, () => exited, paths.log);
      return {
        pid,
        pid_start_ticks: readProcStat(pid)?.startTicks ?? null,
        socket_path: paths.socket,
        started_at: Date.now() / 1000,
        agent_version: hello,
      };
    } catch (error) {
      killProcessGroup(pid, "SIGKILL");
      fs.rmSync(paths.socket, { force: true });
      throw error;
    } finally {
      fs.closeSync(log);
    }
  }

  isSuspended(): boolean {
    return false; // the host backend's agent is a host process: nothing to suspend
  }

  isAlive(runtime: RuntimeRecord): boolean {
    // Same pid, different start time: the agent died and the pid was recycled.
    return isSameProcess(runtime.pid, runtime.pid_start_ticks);
  }

  async sweepOrphan(sandboxDir: string): Promise<void> {
    const paths = hostSandboxPaths(sandboxDir);
    await killOwned({ sid: -1, marker: sandboxMarker(paths.stateDir) }, "SIGKILL", STOP_GRACE_MS);
    fs.rmSync(paths.socket, { force: true });
  }

  async deathReason(): Promise<string | null> {
    return null;
  }

  async destroy(runtime: RuntimeRecord | null, spec: SandboxSpec): Promise<void> {
    await this.halt(runtime, spec);
    // A destroyed sandbox keeps nothing: the next boot (a reset) starts from an empty
    // /workspace, exactly as a fresh guest disk would.
    fs.rmSync(hostSandboxPaths(spec.sandboxDir).root, {
      recursive: true,
      force: true,
      maxRetries: 3,
    });
  }

  /** Everything destroy does but removing /workspace (the host's "disk"). */
  async halt(runtime: RuntimeRecord | null, spec: SandboxSpec): Promise<void> {
    const paths = hostSandboxPaths(spec.sandboxDir);
    if (runtime && this.isAlive(runtime)) {
      // Ask politely first: the agent stops its shells and services on the way out.
      try {
        const { client } = await AgentClient.connect(runtime.socket_path, 2_000);
        try {
          await client.call("shutdown", {});
        } finally {
          client.close();
        }
      } catch {
        // fall through to signals
      }
      await waitForExit(runtime.pid, STOP_GRACE_MS);
      if (this.isAlive(runtime)) {
        killProcessGroup(runtime.pid, "SIGTERM");
        await waitForExit(runtime.pid, STOP_GRACE_MS);
      }
      if (this.isAlive(runtime)) {
        killProcessGroup(runtime.pid, "SIGKILL");
        await waitForExit(runtime.pid, STOP_GRACE_MS);
      }
    }
    // Sweep what the agent left: background jobs of execs, shells and services of an agent
    // that died without cleaning up. In a guest the VM's death does this; here we must.
    await killOwned({ sid: -1, marker: sandboxMarker(paths.stateDir) }, "SIGKILL", STOP_GRACE_MS);
    fs.rmSync(paths.socket, { force: true });
    fs.rmSync(paths.runtimeDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function waitForAgent(
  socket: string,
  exited: () => string | null,
  logFile: string,
): Promise<string> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  let lastError = "no socket yet";
  while (Date.now() < deadline) {
    const exitReason = exited();
    if (exitReason !== null) {
      throw new PyroError(
        "backend_error",
        `host agent exited during boot (${exitReason}): ${tail(logFile)}`,
      );
    }
    if (fs.existsSync(socket)) {
      try {
        const { client, hello } = await AgentClient.connect(socket, 2_000);
        client.close();
        return hello.agent_version;
      } catch (error) {
        lastError = (error as Error).message;
      }
    }
    await sleep(10);
  }
  throw new PyroError(
    "backend_error",
    `host agent did not come up within ${BOOT_TIMEOUT_MS} ms (${lastError}): ${tail(logFile)}`,
  );
}

function tail(file: string): string {
  try {
    const text = fs.readFileSync(file, "utf8").trim();
    return text.slice(-500) || "(agent log is empty)";
  } catch {
    return "(no agent log)";
  }
}
