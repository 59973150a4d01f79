import type net from "node:net";

import { PyroError } from "../../errors.js";
import { FramedConnection } from "../../protocol/connection.js";
import {
  FrameKind,
  PROTOCOL_VERSION,
  parseJsonPayload,
  type Frame,
} from "../../protocol/frames.js";

interface Route {
  /** null once the client went away; the guest's late answer is then dropped. */
  client: RelayClient | null;
  clientId: number;
}

interface RelayClient {
  connection: FramedConnection;
  /** client request id -> relay id on the guest channel */
  ids: Map<number, number>;
}

/**
 * Shares one guest channel (a virtio-serial port, which takes exactly one connection)
 * between any number of host clients. Each client speaks the ordinary agent protocol;
 * request ids are rewritten so they never collide on the guest side, and a client that
 * disconnects has its requests aborted in the guest, as the agent does for its own
 * socket clients. A slow client or a slow guest pauses the side that feeds it.
 */
export class GuestRelay {
  private readonly guest: FramedConnection;
  private readonly routes = new Map<number, Route>();
  private readonly clients = new Set<RelayClient>();
  private nextId = 1;
  private hello: Record<string, unknown> | null = null;
  private helloWaiters: Array<{
    resolve: (hello: Record<string, unknown>) => void;
    reject: (error: Error) => void;
  }> = [];

  constructor(guestSocket: net.Socket, onGuestClosed: (error?: Error) => void) {
    this.guest = new FramedConnection(
      guestSocket,
      (frame) => this.fromGuest(frame),
      (error) => {
        for (const client of this.clients) client.connection.close();
        this.clients.clear();
        onGuestClosed(error);
      },
    );
  }

  /**
   * Greets the guest agent until it answers. The agent opens its port only once it runs,
   * and bytes written before that wait in the socket, so greeting again is harmless: the
   * first answer wins.
   */
  async handshake(signal: AbortSignal): Promise<Record<string, unknown>> {
    const answered = new Promise<Record<string, unknown>>((resolve, reject) =>
      this.helloWaiters.push({ resolve, reject }),
    );
    const greet = (): void =>
      void this.guest
        .sendJson(0, {
          type: "hello",
          protocol_version: PROTOCOL_VERSION,
          // The guest sets its clock from this (see syncClock in the agent).
          host_time_ms: Date.now(),
        })
        .catch(() => undefined);
    greet();
    const timer = setInterval(greet, 2_000);
    const aborted = new Promise<never>((_, reject) => {
      const fail = (): void => reject(signal.reason as Error);
      if (signal.aborted) fail();
      signal.addEventListener("abort", fail, { once: true });
    });
    try {
      return await Promise.race([answered, aborted]);
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Sends the host's time again. Greetings queued before the agent opened its port arrive
   * seconds late, and a TCG guest's clock falls behind under load, so the supervisor calls
   * this right after the handshake and then periodically; the agent steps its clock only
   * when it is more than 250 ms off. The guest's answers are ignored (the handshake is done).
   */
  resyncClock(): void {
    void this.guest
      .sendJson(0, { type: "hello", protocol_version: PROTOCOL_VERSION, host_time_ms: Date.now() })
      .catch(() => undefined);
  }

  /** Serves one host client on the shared guest channel. */
  attach(socket: net.Socket): void {
    const client: RelayClient = {
      ids: new Map(),
      connection: new FramedConnection(
        socket,
        (frame) => this.fromClient(client, frame),
        () => this.detach(client),
      ),
    };
    this.clients.add(client);
  }

  close(): void {
    this.guest.close();
  }

  private fromClient(client: RelayClient, frame: Frame): void {
    if (frame.kind === FrameKind.Json) {
      let message: Record<string, unknown>;
      try {
        message = parseJsonPayload(frame.payload);
      } catch {
        client.connection.close();
        return;
      }
      if (message.type === "hello") {
        this.greetClient(client, message);
        return;
      }
      if (message.type === "request") {
        const relayId = this.nextId++;
        client.ids.set(frame.id, relayId);
        this.routes.set(relayId, { client, clientId: frame.id });
      }
    }
    const relayId = client.ids.get(frame.id);
    if (relayId === undefined) return; // data for a request we never saw
    this.forward(client.connection, this.guest, frame.kind, relayId, frame.payload);
  }

  private greetClient(client: RelayClient, message: Record<string, unknown>): void {
    if (message.protocol_version !== PROTOCOL_VERSION || !this.hello) {
      const error = new PyroError(
        "protocol_error",
        `client speaks protocol version ${String(message.protocol_version)}, agent speaks ${PROTOCOL_VERSION}`,
      );
      void client.connection
        .sendJson(0, { type: "error", error: error.toJSON() })
        .finally(() => client.connection.close());
      return;
    }
    void client.connection.sendJson(0, this.hello).catch(() => undefined);
  }

  private fromGuest(frame: Frame): void {
    if (frame.id === 0) {
      if (frame.kind !== FrameKind.Json || this.hello) return;
      try {
        const message = parseJsonPayload(frame.payload);
        if (message.type === "error") {
          // An agent of another protocol version: the image carries another pyro's agent.
          const detail = (message.error as { message?: unknown } | undefined)?.message;
          this.failHandshake(
            `the guest agent refused the handshake (${String(detail)}); the environment's image carries another pyro's agent: run \`pyro env pull\` for it`,
          );
          return;
        }
        if (message.type !== "hello") return;
        if (message.protocol_version !== PROTOCOL_VERSION) {
          this.failHandshake(
            `the guest agent speaks protocol version ${String(message.protocol_version)}, this pyro speaks ${PROTOCOL_VERSION}: run \`pyro env pull\` for the environment`,
          );
          return;
        }
        this.hello = message;
        for (const waiter of this.helloWaiters.splice(0)) waiter.resolve(message);
      } catch {
        // a damaged greeting: the next one will do
      }
      return;
    }
    const route = this.routes.get(frame.id);
    if (!route) return;
    if (frame.kind === FrameKind.Json) {
      // A JSON frame from the agent on a request id is its final response.
      this.routes.delete(frame.id);
      route.client?.ids.delete(route.clientId);
    }
    if (route.client) {
      this.forward(this.guest, route.client.connection, frame.kind, route.clientId, frame.payload);
    }
  }

  private failHandshake(reason: string): void {
    const error = new Error(reason);
    for (const waiter of this.helloWaiters.splice(0)) waiter.reject(error);
  }

  private forward(
    from: FramedConnection,
    to: FramedConnection,
    kind: FrameKind,
    id: number,
    payload: Buffer,
  ): void {
    void to.sendFrame(kind, id, payload).catch(() => undefined);
    if (to.congested) {
      from.pause();
      void to.drained().then(() => from.resume());
    }
  }

  private detach(client: RelayClient): void {
    this.clients.delete(client);
    for (const relayId of client.ids.values()) {
      const route = this.routes.get(relayId);
      if (route) route.client = null;
      void this.guest.sendJson(relayId, { type: "abort" }).catch(() => undefined);
    }
    client.ids.clear();
  }
}
