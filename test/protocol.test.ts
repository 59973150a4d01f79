import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import * as tar from "tar";
import { afterEach, describe, expect, it } from "vitest";

import { resolveAgentBundle } from "../src/backends/host/agent-path.js";
import { PyroError } from "../src/errors.js";
import { AgentClient } from "../src/protocol/client.js";
import {
  FrameDecoder,
  FrameKind,
  MAX_FRAME_BYTES,
  encodeFrame,
  encodeJson,
} from "../src/protocol/frames.js";
import { PROTOCOL_MAX } from "../src/protocol/negotiate.js";
import { waitFor } from "./helpers.js";

describe("frames", () => {
  it("round-trips frames split at every byte boundary", () => {
    const wire = Buffer.concat([
      encodeJson(7, { type: "request", op: "exec" }),
      encodeFrame(FrameKind.Data, 7, Buffer.from("tar bytes")),
      encodeFrame(FrameKind.DataEnd, 7),
    ]);
    for (let split = 1; split < wire.length; split += 1) {
      const decoder = new FrameDecoder();
      const frames = [
        ...decoder.push(wire.subarray(0, split)),
        ...decoder.push(wire.subarray(split)),
      ];
      expect(frames.map((frame) => [frame.kind, frame.id])).toEqual([
        [FrameKind.Json, 7],
        [FrameKind.Data, 7],
        [FrameKind.DataEnd, 7],
      ]);
      expect(frames[1]?.payload.toString()).toBe("tar bytes");
    }
  });

  it("refuses oversized and malformed frames before buffering them", () => {
    const header = Buffer.alloc(9);
    header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    expect(() => new FrameDecoder().push(header)).toThrow("invalid frame length");
    const badKind = encodeJson(1, {});
    badKind.writeUInt8(9, 4);
    expect(() => new FrameDecoder().push(badKind)).toThrow("unknown frame kind");
    expect(() => encodeFrame(FrameKind.Data, 1, Buffer.alloc(MAX_FRAME_BYTES))).toThrow("exceeds");
  });
});

describe("the agent over a real socket", () => {
  let agent: ChildProcess | null = null;
  let dir = "";

  afterEach(async () => {
    agent?.kill("SIGKILL");
    agent = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startAgent(): Promise<{ socket: string; root: string }> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-agent-"));
    const socket = path.join(dir, "agent.sock");
    const root = path.join(dir, "root");
    agent = spawn(
      process.execPath,
      [
        resolveAgentBundle(),
        "--socket",
        socket,
        "--root",
        root,
        "--state-dir",
        path.join(dir, "state"),
      ],
      {
        stdio: "ignore",
      },
    );
    await waitFor(() => fs.existsSync(socket));
    return { socket, root };
  }

  it("says hello with its version and capabilities", async () => {
    const { socket } = await startAgent();
    const { client, hello } = await AgentClient.connect(socket);
    expect(hello.protocol_version).toBe(PROTOCOL_MAX);
    expect(hello.workspace_root).toBe("/workspace");
    expect(hello.capabilities).toEqual(
      expect.arrayContaining(["exec", "archive.import", "archive.export"]),
    );
    client.close();
  });

  it("refuses a client with another protocol version", async () => {
    const { socket } = await startAgent();
    const conn = net.createConnection(socket);
    const decoder = new FrameDecoder();
    const reply = new Promise<Record<string, unknown>>((resolve) => {
      conn.on("data", (chunk: Buffer) => {
        const frame = decoder.push(chunk)[0];
        if (frame) resolve(JSON.parse(frame.payload.toString()) as Record<string, unknown>);
      });
    });
    conn.write(encodeJson(0, { type: "hello", protocol_version: 99 }));
    const message = await reply;
    expect(message.type).toBe("error");
    expect((message.error as { code: string }).code).toBe("protocol_error");
    conn.destroy();
  });

  it("returns structured errors and keeps serving", async () => {
    const { socket } = await startAgent();
    const { client } = await AgentClient.connect(socket);
    const unknown = await client.requestRaw("nope", {}).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(PyroError);
    expect((unknown as PyroError).code).toBe("protocol_error");
    const escape = await client
      .call("exec", { command: "true", cwd: "/etc", timeout_seconds: 5 })
      .catch((error: unknown) => error);
    expect((escape as PyroError).code).toBe("invalid_argument");
    expect((escape as PyroError).message).toContain("must stay inside /workspace");
    const ok = await client.call("exec", {
      command: "echo fine",
      timeout_seconds: 5,
    });
    expect(ok.stdout).toBe("fine\n");
    client.close();
  });

  it("multiplexes concurrent requests and clients", async () => {
    const { socket } = await startAgent();
    const { client: first } = await AgentClient.connect(socket);
    const { client: second } = await AgentClient.connect(socket);
    const slow = first.call("exec", {
      command: "sleep 0.5; echo slow",
      timeout_seconds: 5,
    });
    const fast = await second.call("exec", {
      command: "echo fast",
      timeout_seconds: 5,
    });
    const alsoFast = await first.call("exec", {
      command: "echo fast2",
      timeout_seconds: 5,
    });
    expect(fast.stdout).toBe("fast\n");
    expect(alsoFast.stdout).toBe("fast2\n");
    expect((await slow).stdout).toBe("slow\n");
    first.close();
    second.close();
  });

  it("streams archives in and out in binary frames", async () => {
    const { socket, root } = await startAgent();
    const { client } = await AgentClient.connect(socket);
    const src = path.join(dir, "src");
    fs.mkdirSync(src);
    const big = Buffer.alloc(3 * 1024 * 1024, "x");
    fs.writeFileSync(path.join(src, "big.bin"), big);
    const archive = path.join(dir, "in.tar");
    await tar.c({ cwd: src, file: archive }, ["big.bin"]);
    await client.call(
      "archive.import",
      { destination: "/workspace/in" },
      { upload: fs.createReadStream(archive) },
    );
    expect(fs.readFileSync(path.join(root, "in", "big.bin")).equals(big)).toBe(true);
    const chunks: Buffer[] = [];
    const result = await client.call(
      "archive.export",
      { path: "/workspace/in" },
      { onData: (chunk) => void chunks.push(chunk) },
    );
    expect(result.artifact_type).toBe("directory");
    expect(Buffer.concat(chunks).length).toBe(result.size_bytes);
    const names: string[] = [];
    await new Promise<void>((resolve, reject) => {
      Readable.from([Buffer.concat(chunks)])
        .pipe(tar.t({ onReadEntry: (entry) => void names.push(entry.path) }))
        .on("finish", resolve)
        .on("error", reject);
    });
    expect(names).toContain("big.bin");
    client.close();
  });

  it("fails pending requests when the agent dies", async () => {
    const { socket } = await startAgent();
    const { client } = await AgentClient.connect(socket);
    const pending = client.call("exec", { command: "sleep 2", timeout_seconds: 20 });
    agent?.kill("SIGKILL");
    await expect(pending).rejects.toThrow("connection to the sandbox agent was lost");
  });

  it("fails a download cut short only after the chunks already received were handled", async () => {
    const { socket, root } = await startAgent();
    fs.writeFileSync(path.join(root, "big.bin"), Buffer.alloc(8 * 1024 * 1024, 7));
    const { client } = await AgentClient.connect(socket);
    let failedAt = 0;
    let lastChunkAt = 0;
    let chunks = 0;
    const pending = client.call(
      "archive.export",
      { path: "big.bin" },
      {
        // A slow consumer (a file on a busy disk): chunks queue up behind it.
        onData: async () => {
          if (++chunks === 1) setTimeout(() => agent?.kill("SIGKILL"), 100);
          await new Promise((resolve) => setTimeout(resolve, 20));
          lastChunkAt = performance.now();
        },
      },
    );
    await expect(pending.finally(() => (failedAt = performance.now()))).rejects.toThrow(
      "connection to the sandbox agent was lost",
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(chunks).toBeGreaterThan(1);
    // A caller closes its file when the request fails: no chunk may come after that.
    expect(lastChunkAt).toBeLessThanOrEqual(failedAt);
    client.close();
  });

  it("gives up on a wedged agent after the request's deadline", async () => {
    const { socket } = await startAgent();
    const { client } = await AgentClient.connect(socket);
    agent?.kill("SIGSTOP");
    try {
      const pending = client.call(
        "exec",
        { command: "true", timeout_seconds: 5 },
        { timeoutMs: 300 },
      );
      await expect(pending).rejects.toThrow("did not answer 'exec' within");
      // The sandbox, not the backend, is at fault: the next step is a reset.
      await expect(pending).rejects.toMatchObject({ code: "agent_error" });
    } finally {
      agent?.kill("SIGCONT");
      client.close();
    }
  });
});
