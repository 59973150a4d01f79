import { AgentClient } from "./client.js";
import { readActivityFile, touchActivityFile } from "../shared/activity-file.js";

/** setTimeout caps at ~24.8 days. */
const MAX_TIMER_MS = 2_147_000_000;

/**
 * The sandbox's own self-stop (host agent, qemu supervisor): fires at `expiresAt`, and
 * then, when the sandbox has an activity file (a workspace), re-reads it: activity since
 * the timer was set (or a policy extended by workspace_update) moves the deadline, and a
 * sandbox with a running command, an open shell or a running service counts as active
 * (the file is touched for it). Only a sandbox idle past its deadline, or past its hard
 * expiry, is stopped.
 */
export function scheduleSandboxExpiry(options: {
  expiresAt: number;
  activityFile: string | null;
  /** The agent's socket, to ask whether anything runs in the sandbox. */
  agentSocket: () => string | null;
  onExpire: (reason: string) => void;
}): void {
  const arm = (at: number): void => {
    const delay = Math.max(0, at * 1000 - Date.now());
    setTimeout(() => void check(), Math.min(delay, MAX_TIMER_MS)).unref();
  };
  const check = async (): Promise<void> => {
    const file = options.activityFile;
    const state = file === null ? null : readActivityFile(file);
    const now = Date.now() / 1000;
    if (state === null || file === null) {
      if (now < options.expiresAt) return arm(options.expiresAt);
      return options.onExpire("the sandbox reached its TTL");
    }
    if (state.hard_expires_at !== null && state.hard_expires_at <= now) {
      return options.onExpire("the sandbox reached its hard expiry");
    }
    if (now < state.expires_at) return arm(state.expires_at);
    const socket = options.agentSocket();
    if (socket !== null && (await sandboxBusy(socket))) {
      touchActivityFile(file);
      return arm(now + state.ttl_seconds);
    }
    options.onExpire("the sandbox was idle past its ttl_seconds");
  };
  arm(options.expiresAt);
}

/**
 * True when a command runs, a shell is open or a service runs in the sandbox behind
 * `socketPath`. An agent that does not answer is not busy.
 */
export async function sandboxBusy(socketPath: string, timeoutMs = 5_000): Promise<boolean> {
  let client: AgentClient | null = null;
  try {
    const connected = (await AgentClient.connect(socketPath, timeoutMs)).client;
    client = connected;
    const deadline = { timeoutMs };
    return await agentReportsBusy(async (op) => {
      const answer = await connected.call(op, {}, deadline);
      return answer as unknown as Record<string, unknown>;
    });
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

/**
 * True when the agent `call` reaches lists a running command, an open shell or a running
 * service. Rejects when it cannot tell (an agent without `command.list` has no commands).
 */
export async function agentReportsBusy(
  call: (op: "command.list" | "shell.list" | "service.list") => Promise<Record<string, unknown>>,
): Promise<boolean> {
  const [commands, shells, services] = await Promise.all([
    call("command.list").catch(() => ({ commands: [] })),
    call("shell.list"),
    call("service.list"),
  ]);
  const running = (list: unknown): boolean =>
    Array.isArray(list) &&
    list.some((entry) => (entry as { state?: unknown } | null)?.state === "running");
  return (
    running(commands.commands) ||
    running(shells.shells) ||
    (typeof services.running_count === "number" ? services.running_count > 0 : true)
  );
}
