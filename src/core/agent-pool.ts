import { AgentClient, isConnectionLost, type RequestOptions } from "../protocol/client.js";
import type { AgentOp, AgentRequest, AgentResponse } from "../protocol/operations.js";
import type { RuntimeRecord } from "../store/records.js";

/**
 * Keeps one agent connection per running sandbox for the life of a manager, so a warm exec
 * costs one request, not a connect + handshake. A connection that fails is dropped and the
 * next call reconnects; the pid is part of the key so a rebooted sandbox gets a new one.
 */
export class AgentPool {
  private readonly clients = new Map<string, Promise<AgentClient>>();
  /** Bumped by closeAll: a call in flight then failed because we closed it, not by itself. */
  private generation = 0;
  /** The ops each connected agent serves (its hello's capabilities), by connection key. */
  private readonly capabilities = new Map<string, ReadonlySet<string>>();

  async get(runtime: RuntimeRecord): Promise<AgentClient> {
    const key = `${runtime.socket_path}#${runtime.pid}`;
    let entry = this.clients.get(key);
    if (entry) {
      // A connection the sandbox closed while idle (a qemu guest's suspend closes every
      // client's) is replaced before a call is sent on it, which an upload cannot retry.
      const client = await entry.catch(() => null);
      if (client?.closed === true && this.clients.get(key) === entry) {
        this.clients.delete(key);
        entry = undefined;
      }
    }
    if (!entry) {
      entry = AgentClient.connect(runtime.socket_path).then(({ client, hello }) => {
        this.capabilities.set(key, new Set(hello.capabilities));
        return client;
      });
      this.clients.set(key, entry);
      entry.catch(() => this.clients.delete(key));
    }
    return entry;
  }

  /**
   * Whether the sandbox's agent serves `op`: an agent started by an older pyro lacks the
   * newer ops (docs/protocol.md, versioning), and callers fall back or say what fixes it.
   */
  async supports(runtime: RuntimeRecord, op: AgentOp): Promise<boolean> {
    await this.get(runtime);
    return this.capabilities.get(`${runtime.socket_path}#${runtime.pid}`)?.has(op) ?? false;
  }

  /** Runs one request, retrying once on a fresh connection if the cached one went stale. */
  async call<Op extends AgentOp>(
    runtime: RuntimeRecord,
    op: Op,
    body: AgentRequest<Op>,
    options: RequestOptions = {},
  ): Promise<AgentResponse<Op>> {
    const withDeadline = { timeoutMs: defaultTimeout(op, body), ...options };
    const generation = this.generation;
    const client = await this.get(runtime);
    try {
      return await client.call(op, body, withDeadline);
    } catch (error) {
      // A connection closeAll closed is not stale: retrying would open a new one behind the
      // owner's back (and keep a CLI that has finished waiting on it).
      if (!isConnectionLost(error) || generation !== this.generation) throw error;
      this.forget(runtime);
      if (options.upload) throw error; // an upload stream cannot be replayed
      const fresh = await this.get(runtime);
      return fresh.call(op, body, withDeadline);
    }
  }

  forget(runtime: RuntimeRecord): void {
    const key = `${runtime.socket_path}#${runtime.pid}`;
    const entry = this.clients.get(key);
    this.clients.delete(key);
    entry?.then((client) => client.close()).catch(() => undefined);
  }

  closeAll(): void {
    this.generation += 1;
    for (const entry of this.clients.values())
      entry.then((client) => client.close()).catch(() => undefined);
    this.clients.clear();
  }
}

/** Slack on top of an operation's own time limit before the agent counts as wedged. */
const AGENT_SLACK_MS = 60_000;
/** Bulk transfers scale with the tree; they have no fixed deadline. */
const UNBOUNDED_OPS = new Set([
  "archive.import",
  "archive.export",
  "tree.manifest",
  "files.read",
  "archive.import_disk",
  "archive.export_disk",
]);

/**
 * How long to wait for an answer before calling the agent wedged: an exec or a service
 * start gets its own limit plus slack, bulk transfers get none, everything else is quick.
 */
function defaultTimeout(op: string, body: object): number | undefined {
  if (UNBOUNDED_OPS.has(op)) return undefined;
  const fields = body as Record<string, unknown>;
  const seconds =
    op === "exec" || op === "command.run"
      ? fields.timeout_seconds
      : op === "service.start"
        ? fields.ready_timeout_seconds
        : 0;
  // A wait (a yielding run, a read or wait that blocks) is bounded by its own wait_ms.
  const waitMs =
    typeof fields.wait_ms === "number" && Number.isFinite(fields.wait_ms) ? fields.wait_ms : null;
  const ownMs = typeof seconds === "number" && Number.isFinite(seconds) ? seconds * 1000 : 0;
  return (
    (waitMs === null ? ownMs : op === "command.run" ? Math.min(ownMs, waitMs) : waitMs) +
    AGENT_SLACK_MS
  );
}
