/**
 * The QEMU supervisor's relay, without a VM: a real agent process plays the guest (its
 * socket stands in for the virtio-serial port: one connection, the same protocol), and
 * real clients connect to the relay's socket. What qemu adds on top is covered by the
 * real-guest tier in conformance.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import * as tar from "tar";
import { afterEach, describe, expect, it } from "vitest";

import { resolveAgentBundle } from "../src/shared/agent-bundle.js";
import { GuestRelay } from "../src/backends/qemu/relay.js";
import { AgentClient } from "../src/protocol/client.js";
import {
  FrameDecoder,
  FrameKind,
  encodeFrame,
  encodeJson,
  type Frame,
} from "../src/protocol/frames.js";
import { PROTOCOL_MAX } from "../src/protocol/negotiate.js";
import { waitFor } from "./helpers.js";

interface Rig {
  dir: string;
  root: string;
  agent: ChildProcess;
  relay: GuestRelay;
  server: net.Server;
  socket: string;
  guestClosed: Promise<void>;
}

let rig: Rig | null = null;

afterEach(() => {
  if (!rig) return;
  rig.server.close();
  rig.relay.close();
  rig.agent.kill("SIGKILL");
  fs.rmSync(rig.dir, { recursive: true, force: true });
  rig = null;
});

async function startRig(): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-relay-"));
  const guestSocket = path.join(dir, "guest.sock");
  const root = path.join(dir, "root");
  const agent = spawn(
    process.execPath,
    [
      resolveAgentBundle(),
      ...["--socket", guestSocket, "--root", root, "--state-dir", path.join(dir, "state")],
    ],
    { stdio: "ignore" },
  );
  await waitFor(() => fs.existsSync(guestSocket));
  const guest = net.createConnection(guestSocket);
  await new Promise((resolve) => guest.once("connect", resolve));
  let markClosed: () => void = () => undefined;
  const guestClosed = new Promise<void>((resolve) => (markClosed = resolve));
  const relay = new GuestRelay(guest, () => markClosed());
  await relay.handshake(new AbortController().signal);
  const socket = path.join(dir, "relay.sock");
  const server = net.createServer((client) => relay.attach(client));
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  rig = { dir, root, agent, relay, server, socket, guestClosed };
  return rig;
}

describe("the supervisor's relay", () => {
  it("serves concurrent clients on one guest channel without mixing up their requests", async () => {
    const { socket } = await startRig();
    const clients = await Promise.all([1, 2, 3].map(() => AgentClient.connect(socket)));
    // Every client numbers its requests from 1: the relay must keep them apart.
    const results = await Promise.all(
      clients.flatMap(({ client }, index) =>
        [0, 1].map((round) =>
          client.call("exec", {
            command: `sleep 0.${3 - index}; echo client${index}-round${round}`,
          }),
        ),
      ),
    );
    expect(results.map((result) => result.stdout.trim())).toEqual([
      "client0-round0",
      "client0-round1",
      "client1-round0",
      "client1-round1",
      "client2-round0",
      "client2-round1",
    ]);
    for (const { client, hello } of clients) {
      expect(hello.protocol_version).toBe(PROTOCOL_MAX);
      client.close();
    }
  });

  it("carries uploads and downloads in binary frames through the relay", async () => {
    const { socket, dir } = await startRig();
    const source = path.join(dir, "source");
    fs.mkdirSync(source);
    fs.writeFileSync(path.join(source, "big.bin"), Buffer.alloc(3 * 1024 * 1024, 7));
    const archive = path.join(dir, "upload.tar");
    await tar.c({ file: archive, cwd: source }, ["big.bin"]);
    const { client } = await AgentClient.connect(socket);
    const imported = await client.call(
      "archive.import",
      { destination: "/workspace" },
      { upload: fs.createReadStream(archive) },
    );
    expect(imported.entry_count).toBe(1);
    let downloaded = 0;
    const exported = await client.call(
      "archive.export",
      { path: "/workspace" },
      { onData: (chunk) => void (downloaded += chunk.length) },
    );
    expect(downloaded).toBe(exported.size_bytes);
    expect(downloaded).toBeGreaterThan(3 * 1024 * 1024);
    client.close();
  });

  it("keeps serving others when a client leaves mid-request, and refuses another protocol", async () => {
    const { socket } = await startRig();
    const { client: leaving } = await AgentClient.connect(socket);
    const abandoned = leaving.call("exec", { command: "sleep 5" });
    abandoned.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    leaving.close();
    await expect(abandoned).rejects.toThrow("connection to the sandbox agent was lost");

    const { client: staying } = await AgentClient.connect(socket);
    const echoed = await staying.call("exec", { command: "echo still" });
    expect(echoed.stdout).toBe("still\n");
    staying.close();

    const raw = net.createConnection(socket);
    const decoder = new FrameDecoder();
    const reply = new Promise<Record<string, unknown>>((resolve) =>
      raw.on("data", (chunk: Buffer) => {
        const frame = decoder.push(chunk)[0];
        if (frame) resolve(JSON.parse(frame.payload.toString()) as Record<string, unknown>);
      }),
    );
    raw.write(encodeJson(0, { type: "hello", protocol_version: 99 }));
    expect(await reply).toMatchObject({ type: "error", error: { code: "protocol_error" } });
    raw.destroy();
  });

  it("routes by frame kind without parsing bodies: a body it cannot read still reaches the agent", async () => {
    const { socket } = await startRig();
    const raw = net.createConnection(socket);
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    raw.on("data", (chunk: Buffer) => frames.push(...decoder.push(chunk)));
    raw.write(encodeJson(0, { type: "hello", protocol_min: 1, protocol_max: PROTOCOL_MAX }));
    await waitFor(() => frames.length === 1);
    expect(JSON.parse(frames[0]?.payload.toString() ?? "")).toMatchObject({
      type: "hello",
      protocol_version: PROTOCOL_MAX,
      protocol_min: PROTOCOL_MAX,
      protocol_max: PROTOCOL_MAX,
    });
    // Not JSON: the relay forwards it as the request it is; the agent answers the error.
    raw.write(encodeFrame(FrameKind.Request, 7, Buffer.from("{not json")));
    await waitFor(() => frames.length === 2);
    expect(frames[1]).toMatchObject({ kind: FrameKind.Response, id: 7 });
    expect(JSON.parse(frames[1]?.payload.toString() ?? "")).toMatchObject({
      ok: false,
      error: { code: "protocol_error" },
    });
    raw.destroy();
  });

  it("refuses a client that cannot speak the version the guest chose", async () => {
    const { socket } = await startRig();
    const raw = net.createConnection(socket);
    const decoder = new FrameDecoder();
    const reply = new Promise<Record<string, unknown>>((resolve) =>
      raw.on("data", (chunk: Buffer) => {
        const frame = decoder.push(chunk)[0];
        if (frame) resolve(JSON.parse(frame.payload.toString()) as Record<string, unknown>);
      }),
    );
    // A client from before negotiation: exactly protocol 1, which needs JSON parsing.
    raw.write(encodeJson(0, { type: "hello", protocol_version: 1 }));
    expect(await reply).toMatchObject({
      type: "error",
      error: {
        code: "protocol_error",
        message: expect.stringContaining("client speaks protocol version 1"),
      },
    });
    raw.destroy();
  });

  it("closes every client when the guest channel goes away", async () => {
    const current = await startRig();
    const { client } = await AgentClient.connect(current.socket);
    const pending = client.call("exec", { command: "sleep 30" });
    pending.catch(() => undefined);
    current.agent.kill("SIGKILL");
    await current.guestClosed;
    await expect(pending).rejects.toThrow("connection to the sandbox agent was lost");
  });
});
