/**
 * The supervisor's clock sync (src/backends/qemu/guest-clock.ts) through the real relay,
 * against a stand-in guest on a real socket whose clock is off by a set amount and whose
 * channel delays every message: what a TCG guest under load looks like to the relay. The
 * real guests are checked in conformance-qemu.test.ts ("the guest clock").
 */
import net from "node:net";

import { afterEach, describe, expect, it } from "vitest";

import { GuestRelay } from "../src/backends/qemu/relay.js";
import { FramedConnection } from "../src/protocol/connection.js";
import { FrameKind, encodeJson, parseJsonPayload, type Frame } from "../src/protocol/frames.js";
import { PROTOCOL_MAX } from "../src/protocol/negotiate.js";
import { waitFor } from "./helpers.js";

/** A guest whose clock is `offsetMs` off the host's, over a channel `delayMs` slow each way. */
class SkewedGuest {
  readonly connection: FramedConnection;
  /** The guest's offset when each request reached it. */
  readonly requestOffsets: number[] = [];
  readonly hellos: Array<Record<string, unknown>> = [];

  constructor(
    socket: net.Socket,
    public offsetMs: number,
    private readonly delayMs: number,
    private readonly knowsProbes = true,
  ) {
    this.connection = new FramedConnection(
      socket,
      (frame) => this.onFrame(frame),
      () => undefined,
    );
  }

  private onFrame(frame: Frame): void {
    if (frame.kind === FrameKind.Request) {
      this.requestOffsets.push(this.offsetMs);
      return;
    }
    if (frame.kind !== FrameKind.Json) return;
    const hello = parseJsonPayload(frame.payload);
    this.hellos.push(hello);
    setTimeout(() => {
      const probe = hello.clock_probe_ms;
      const step = hello.clock_step_ms;
      const clock: Record<string, unknown> = {};
      if (this.knowsProbes && typeof probe === "number") {
        if (typeof step === "number") this.offsetMs += step;
        clock.clock_echo_ms = probe;
        clock.guest_time_ms = Date.now() + this.offsetMs;
      }
      setTimeout(
        () =>
          // A late answer may find the rig already torn down: nothing to answer then.
          void this.connection
            .sendJson(0, {
              type: "hello",
              protocol_version: PROTOCOL_MAX,
              protocol_min: 2,
              protocol_max: PROTOCOL_MAX,
              agent_version: "test",
              ...clock,
            })
            .catch(() => undefined),
        this.delayMs,
      );
    }, this.delayMs);
  }
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A relay whose guest end is a SkewedGuest, handshake done. */
async function skewedRig(offsetMs: number, delayMs: number, knowsProbes = true) {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const relaySide = net.createConnection(port, "127.0.0.1");
  const guest = new SkewedGuest(await accepted, offsetMs, delayMs, knowsProbes);
  const relay = new GuestRelay(relaySide, () => undefined);
  await relay.handshake(new AbortController().signal);
  cleanups.push(() => {
    relay.close();
    guest.connection.close();
    server.close();
  });
  return { relay, guest };
}

/** A client of the relay, on a real socket, that says hello and sends one request. */
async function clientRequest(relay: GuestRelay): Promise<void> {
  const server = net.createServer((socket) => relay.attach(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const client = net.createConnection(port, "127.0.0.1");
  cleanups.push(() => {
    client.destroy();
    server.close();
  });
  await new Promise((resolve) => client.once("connect", resolve));
  client.write(
    encodeJson(0, {
      type: "hello",
      protocol_version: PROTOCOL_MAX,
      protocol_min: 2,
      protocol_max: PROTOCOL_MAX,
    }),
  );
  client.write(
    encodeJson(1, { op: "exec", body: { command: "touch pushed.c" } }, FrameKind.Request),
  );
}

describe("the guest clock sync", () => {
  it("steps a guest 10 s behind into step, measuring the offset over a slow channel", async () => {
    const { relay, guest } = await skewedRig(-10_000, 40);
    const sample = await relay.syncClock();
    expect(sample).not.toBeNull();
    expect(Math.abs(guest.offsetMs)).toBeLessThanOrEqual(100);
    expect(Math.abs(sample?.offsetMs ?? Infinity)).toBeLessThanOrEqual(100);
    // Steps are relative: no hello carried the host's absolute time once probes were known.
    const steps = guest.hellos.filter((hello) => typeof hello.clock_step_ms === "number");
    expect(steps.length).toBeGreaterThan(0);
  });

  it("brings the clock into step before a new client's first request reaches the guest", async () => {
    const { relay, guest } = await skewedRig(7_000, 30);
    await clientRequest(relay);
    await waitFor(() => guest.requestOffsets.length === 1);
    expect(Math.abs(guest.requestOffsets[0] ?? Infinity)).toBeLessThanOrEqual(100);
  });

  it("lets a client that connects right after a sync go first, and syncs for one that comes later", async () => {
    const { relay, guest } = await skewedRig(4_000, 20);
    await relay.syncClock();
    const probes = (): number =>
      guest.hellos.filter((hello) => typeof hello.clock_probe_ms === "number").length;
    const afterSync = probes();
    await clientRequest(relay);
    await waitFor(() => guest.requestOffsets.length === 1);
    expect(probes()).toBe(afterSync);
    // Past the grace (500 ms), though the last sync is still "fresh" (1 s) for requests of
    // known clients, a new client's first request waits for a sync again.
    guest.offsetMs += 3_000;
    await new Promise((resolve) => setTimeout(resolve, 700)); // still within CLOCK_FRESH_MS
    await clientRequest(relay);
    await waitFor(() => guest.requestOffsets.length === 2);
    expect(probes()).toBeGreaterThan(afterSync);
    expect(Math.abs(guest.requestOffsets[1] ?? Infinity)).toBeLessThanOrEqual(100);
  });

  it("gives an agent without clock probes the host's time, as before, and holds nothing back", async () => {
    const { relay, guest } = await skewedRig(-3_000, 10, false);
    expect(await relay.syncClock()).toBeNull();
    expect(guest.hellos.at(-1)?.host_time_ms).toEqual(expect.any(Number));
    await clientRequest(relay);
    await waitFor(() => guest.requestOffsets.length === 1);
  });
});
