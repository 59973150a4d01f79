import type net from "node:net";

import { FramedConnection } from "../../protocol/connection.js";
import { FrameKind, type Frame } from "../../protocol/frames.js";
import { decodeMessage } from "../../protocol/messages.js";
import { GuestClock, type ClockSample } from "./guest-clock.js";
import {
  PROTOCOL_MAX,
  disjointError,
  formatRange,
  helloFields,
  helloRange,
  pickVersion,
  wireMessage,
  type ProtocolRange,
} from "../../protocol/negotiate.js";

/**
 * The relay routes by frame kind and never parses a request or response body, which
 * protocol 2 made possible; with protocol 1 it would have to read each JSON frame.
 */
const RELAY_RANGE: ProtocolRange = { min: 2, max: PROTOCOL_MAX };
/** A sync this recent counts for a new client too (see `attach`). */
const NEW_CLIENT_GRACE_MS = 500;

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
 *
 * Only hellos (id 0) are parsed: the relay negotiates a version with the guest, then tells
 * each client that one version (the frames pass through unchanged, so both ends must
 * speak the same). Everything else is routed by its frame kind and id.
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
  private readonly clock = new GuestClock((fields) =>
    this.guest.sendJson(0, { type: "hello", ...helloFields(RELAY_RANGE), ...fields }),
  );
  /** The supervisor's own requests (request()), by relay id: they belong to no client. */
  private readonly internal = new Map<number, (fields: Record<string, unknown>) => void>();
  /** Client frames held back while the guest's clock is brought into step (see fromClient). */
  private held: Array<{ client: RelayClient; frame: Frame }> | null = null;
  /** When a client last sent or was sent a frame, or connected (idle-suspend.ts). */
  private lastActivityAt = Date.now();

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
  async handshake(signal: AbortSignal, greetEveryMs = 2_000): Promise<Record<string, unknown>> {
    const answered = new Promise<Record<string, unknown>>((resolve, reject) =>
      this.helloWaiters.push({ resolve, reject }),
    );
    const greet = (): void =>
      void this.guest
        .sendJson(0, {
          type: "hello",
          ...helloFields(RELAY_RANGE),
          // An agent that knows clock probes only answers this one (the greeting may wait
          // in the channel for seconds); an older agent sets its clock from host_time_ms.
          clock_probe_ms: Date.now(),
          host_time_ms: Date.now(),
        })
        .catch(() => undefined);
    greet();
    const timer = setInterval(greet, greetEveryMs);
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
   * Brings the guest's clock into step with the host's (see guest-clock.ts): the
   * supervisor awaits this after the handshake and calls it periodically, and the relay
   * before a request when the last sync is over a second old or the client is new. An
   * agent without clock probes gets the host's time, as before, and null comes back.
   */
  async syncClock(): Promise<ClockSample | null> {
    if (this.clockProbes) return this.clock.sync();
    await this.guest
      .sendJson(0, { type: "hello", ...helloFields(RELAY_RANGE), host_time_ms: Date.now() })
      .catch(() => undefined);
    return null;
  }

  /**
   * Sends one request of the supervisor's own (no client sees it) and resolves with the
   * agent's response body; rejects with the agent's error or after `timeoutMs`. Used for
   * `guest.refresh` before the client socket exists, so it runs before anything else.
   */
  async request(op: string, body: object, timeoutMs: number): Promise<Record<string, unknown>> {
    const relayId = this.nextId++;
    const answered = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.internal.delete(relayId);
        reject(new Error(`the guest agent did not answer '${op}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.internal.set(relayId, (fields) => {
        clearTimeout(timer);
        if (fields.ok === true && typeof fields.body === "object" && fields.body !== null) {
          resolve(fields.body as Record<string, unknown>);
        } else {
          reject(new Error(`the guest agent refused '${op}': ${wireMessage(fields.error)}`));
        }
      });
    });
    await this.guest.sendJson(relayId, { op, body }, FrameKind.Request);
    return answered;
  }

  /** Fields of the guest's hello that changed since the handshake (a restore's identity). */
  updateHello(fields: Record<string, unknown>): void {
    if (this.hello) this.hello = { ...this.hello, ...fields };
  }

  /** The last clock measurement: guest minus host, and the probe's round trip. */
  get clockSample(): ClockSample | null {
    return this.clock.last;
  }

  /** Milliseconds since any client's traffic; 0 while a client's request is in flight. */
  get idleMs(): number {
    if (this.routes.size > 0 || this.held !== null) return 0;
    return Date.now() - this.lastActivityAt;
  }

  /** Counts as client activity: the idle clock starts again. */
  touch(): void {
    this.lastActivityAt = Date.now();
  }

  /** Closes every client's connection (a suspend: each reconnects, and so resumes it). */
  closeClients(): void {
    for (const client of this.clients) client.connection.close();
  }

  private get clockProbes(): boolean {
    return typeof this.hello?.clock_echo_ms === "number";
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
    this.touch();
    // A new client's first request waits for a sync (it may be about to push files), unless
    // one just ended: a TCG guest's clock drifts by milliseconds a second, not hundreds.
    this.clock.expire(NEW_CLIENT_GRACE_MS);
  }

  close(): void {
    this.guest.close();
  }

  /**
   * Holds every client's frames back (in order) while a sync runs, when a request arrives
   * and the guest's clock is not known to be in step: files the request writes then carry
   * the host's time, and `make` sees no clock skew.
   */
  private fromClient(client: RelayClient, frame: Frame): void {
    if (this.held) {
      this.held.push({ client, frame });
      return;
    }
    if (frame.kind === FrameKind.Request && this.clockProbes && !this.clock.fresh) {
      this.held = [{ client, frame }];
      // Paused, clients send little more meanwhile (an upload would otherwise pile up here).
      for (const each of this.clients) each.connection.pause();
      void this.clock.sync().then(() => {
        const held = this.held ?? [];
        this.held = null;
        // Resumed first: routing pauses a client again if the guest channel is congested.
        for (const each of this.clients) each.connection.resume();
        for (const item of held) {
          if (this.clients.has(item.client)) this.route(item.client, item.frame);
        }
      });
      return;
    }
    this.route(client, frame);
  }

  private route(client: RelayClient, frame: Frame): void {
    this.touch();
    if (frame.kind === FrameKind.Json) {
      // Only the hello is a JSON frame from protocol 2 on.
      this.greetClient(client, frame);
      return;
    }
    if (frame.kind === FrameKind.Request) {
      const relayId = this.nextId++;
      client.ids.set(frame.id, relayId);
      this.routes.set(relayId, { client, clientId: frame.id });
    }
    const relayId = client.ids.get(frame.id);
    if (relayId === undefined) return; // data for a request we never saw
    this.forward(client.connection, this.guest, frame.kind, relayId, frame.payload);
  }

  /** Answers a client's hello with the guest's, offering only the version the guest chose. */
  private greetClient(client: RelayClient, frame: Frame): void {
    let theirs: ProtocolRange | null;
    try {
      const message = decodeMessage(frame);
      if (frame.id !== 0 || message.type !== "hello") throw new Error("not a hello");
      theirs = helloRange(message.fields);
    } catch {
      client.connection.close();
      return;
    }
    const chosen = this.hello?.protocol_version;
    const guest: ProtocolRange | null =
      typeof chosen === "number" ? { min: chosen, max: chosen } : null;
    if (!guest || !theirs || pickVersion(guest, theirs) === null) {
      const error = disjointError(guest ?? RELAY_RANGE, theirs);
      void client.connection
        .sendJson(0, { type: "error", error: error.toJSON() })
        .finally(() => client.connection.close());
      return;
    }
    void client.connection
      .sendJson(0, { ...this.hello, protocol_min: guest.min, protocol_max: guest.max })
      .catch(() => undefined);
  }

  private fromGuest(frame: Frame): void {
    if (frame.id === 0) {
      if (frame.kind !== FrameKind.Json) return;
      try {
        const { type, fields } = decodeMessage(frame);
        if (this.hello) {
          // After the handshake the guest's hellos answer clock probes.
          if (type === "hello") this.clock.onHello(fields);
          return;
        }
        if (type === "error") {
          // An agent that shares no version with us: the image carries another pyro's agent.
          this.failHandshake(
            `the guest agent refused the handshake (${wireMessage(fields.error)}); the environment's image carries another pyro's agent: run \`pyro env pull\` for it`,
          );
          return;
        }
        if (type !== "hello") return;
        const chosen = fields.protocol_version;
        if (
          typeof chosen !== "number" ||
          pickVersion(RELAY_RANGE, { min: chosen, max: chosen }) === null
        ) {
          this.failHandshake(
            `the guest agent speaks ${formatRange(helloRange(fields))}, this pyro's relay ${formatRange(RELAY_RANGE)}: run \`pyro env pull\` for the environment`,
          );
          return;
        }
        this.hello = { type: "hello", ...fields };
        for (const waiter of this.helloWaiters.splice(0)) waiter.resolve(this.hello);
      } catch {
        // a damaged greeting: the next one will do
      }
      return;
    }
    const own = this.internal.get(frame.id);
    if (own) {
      if (frame.kind !== FrameKind.Response) return;
      this.internal.delete(frame.id);
      try {
        own(decodeMessage(frame).fields);
      } catch (error) {
        own({ ok: false, error: { message: (error as Error).message } });
      }
      return;
    }
    const route = this.routes.get(frame.id);
    if (!route) return;
    if (frame.kind === FrameKind.Response) {
      // The response is the last frame of a request.
      this.routes.delete(frame.id);
      route.client?.ids.delete(route.clientId);
    }
    if (route.client) {
      this.touch();
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
      void this.guest.sendFrame(FrameKind.Abort, relayId, Buffer.alloc(0)).catch(() => undefined);
    }
    client.ids.clear();
  }
}
