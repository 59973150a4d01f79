import { AgentClient, isConnectionLost } from "../protocol/client.js";
import type { RuntimeRecord } from "../store/records.js";

/**
 * Keeps one agent connection per running sandbox for the life of a manager, so a warm exec
 * costs one request, not a connect + handshake. A connection that fails is dropped and the
 * next call reconnects; the pid is part of the key so a rebooted sandbox gets a new one.
 */
export class AgentPool {
  private readonly clients = new Map<string, Promise<AgentClient>>();

  async get(runtime: RuntimeRecord): Promise<AgentClient> {
    const key = `${runtime.socket_path}#${runtime.pid}`;
    let entry = this.clients.get(key);
    if (!entry) {
      entry = AgentClient.connect(runtime.socket_path).then(({ client }) => client);
      this.clients.set(key, entry);
      entry.catch(() => this.clients.delete(key));
    }
    return entry;
  }

  /** Runs one request, retrying once on a fresh connection if the cached one went stale. */
  async request<T = Record<string, unknown>>(
    runtime: RuntimeRecord,
    op: string,
    body: object = {},
    options: Parameters<AgentClient["request"]>[2] = {},
  ): Promise<T> {
    const client = await this.get(runtime);
    try {
      return await client.request<T>(op, body, options);
    } catch (error) {
      if (!isConnectionLost(error)) throw error;
      this.forget(runtime);
      if (options.upload) throw error; // an upload stream cannot be replayed
      const fresh = await this.get(runtime);
      return fresh.request<T>(op, body, options);
    }
  }

  forget(runtime: RuntimeRecord): void {
    const key = `${runtime.socket_path}#${runtime.pid}`;
    const entry = this.clients.get(key);
    this.clients.delete(key);
    entry?.then((client) => client.close()).catch(() => undefined);
  }

  closeAll(): void {
    for (const entry of this.clients.values())
      entry.then((client) => client.close()).catch(() => undefined);
    this.clients.clear();
  }
}
