import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import * as tar from "tar";
import { afterEach, describe, expect, it } from "vitest";

import { HandlerTable } from "../src/agent/handler-table.js";
import { serveConnection } from "../src/agent/server.js";
import { resolveAgentBundle } from "../src/shared/agent-bundle.js";
import { PyroError } from "../src/errors.js";
import { AgentClient } from "../src/protocol/client.js";
import {
  FrameDecoder,
  FrameKind,
  MAX_FRAME_BYTES,
  encodeFrame,
  encodeJson,
} from "../src/protocol/frames.js";
import { PROTOCOL_MAX, PROTOCOL_MIN } from "../src/protocol/negotiate.js";
import { AGENT_OPS } from "../src/protocol/operations.js";
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

describe("the client's checks of what an agent answers", () => {
  let server: net.Server | null = null;
  let dir = "";

  afterEach(() => {
    server?.close();
    server = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A peer that greets like an agent and answers every request with `body`. */
  async function fakeAgent(body: Record<string, unknown>): Promise<string> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-peer-"));
    const socket = path.join(dir, "peer.sock");
    server = net.createServer((conn) => {
      const decoder = new FrameDecoder();
      conn.on("data", (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          if (frame.id === 0) {
            conn.write(
              encodeJson(0, {
                type: "hello",
                protocol_version: PROTOCOL_MAX,
                protocol_min: PROTOCOL_MAX,
                protocol_max: PROTOCOL_MAX,
                agent_version: "test",
                node_version: process.version,
                pid: process.pid,
                workspace_root: "/workspace",
                capabilities: ["exec"],
              }),
            );
          } else {
            conn.write(encodeJson(frame.id, { ok: true, body }, FrameKind.Response));
          }
        }
      });
    });
    await new Promise<void>((resolve) => server?.listen(socket, resolve));
    return socket;
  }

  it("refuses an answer that does not match the op's response schema, naming the field", async () => {
    const socket = await fakeAgent({
      exit_code: "zero",
      stdout: "",
      stderr: "",
      duration_ms: 1,
      timed_out: false,
      stdout_truncated: false,
      stderr_truncated: false,
      cwd: "/workspace",
    });
    const { client } = await AgentClient.connect(socket);
    const failure = await client.call("exec", { command: "true" }).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: "protocol_error",
      details: { op: "exec", field: "exit_code" },
    });
    expect((failure as PyroError).message).toContain(
      "'exec' does not match the protocol: exit_code",
    );
    client.close();
  });

  it("passes fields it does not know through (a newer agent may add some)", async () => {
    const socket = await fakeAgent({ shutting_down: true, bye: "later" });
    const { client } = await AgentClient.connect(socket);
    await expect(client.call("shutdown", {})).resolves.toEqual({
      shutting_down: true,
      bye: "later",
    });
    client.close();
  });
});

describe("docs/protocol.md", () => {
  it("lists every agent operation of the schema table, and no other", () => {
    const doc = fs.readFileSync(new URL("../docs/protocol.md", import.meta.url), "utf8");
    const listed = [...doc.matchAll(/^\| `([a-z_.]+)` +\|/gm)].map((match) => match[1]).sort();
    expect(listed).toEqual([...AGENT_OPS].sort());
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

  async function startAgent(
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ socket: string; root: string }> {
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
      { stdio: "ignore", env: { ...process.env, ...env } },
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

  it("reports the version the build derived (package version + bundle digest)", async () => {
    const { socket } = await startAgent();
    const { client, hello } = await AgentClient.connect(socket);
    const built = JSON.parse(
      fs.readFileSync(path.join(path.dirname(resolveAgentBundle()), "agent-version.json"), "utf8"),
    ) as { version: string };
    expect(hello.agent_version).toBe(built.version);
    expect(hello.agent_version).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
    expect(hello).toMatchObject({ protocol_min: PROTOCOL_MIN, protocol_max: PROTOCOL_MAX });
    client.close();
  });

  it("works with an agent whose protocol range is older but overlaps ours", async () => {
    const { socket, root } = await startAgent({ PYRO_AGENT_PROTOCOL_RANGE: "1-1" });
    const { client, hello } = await AgentClient.connect(socket);
    expect(hello).toMatchObject({ protocol_version: 1, protocol_min: 1, protocol_max: 1 });
    const ran = await client.call("exec", { command: "echo old", timeout_seconds: 5 });
    expect(ran.stdout).toBe("old\n");
    // Uploads, downloads and structured errors in protocol 1's framing too.
    const src = path.join(dir, "src");
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, "a.txt"), "a");
    const archive = path.join(dir, "in.tar");
    await tar.c({ cwd: src, file: archive }, ["a.txt"]);
    await client.call("archive.import", {}, { upload: fs.createReadStream(archive) });
    expect(fs.readFileSync(path.join(root, "a.txt"), "utf8")).toBe("a");
    const chunks: Buffer[] = [];
    const exported = await client.call(
      "archive.export",
      { path: "a.txt" },
      { onData: (chunk) => void chunks.push(chunk) },
    );
    expect(Buffer.concat(chunks).length).toBe(exported.size_bytes);
    await expect(client.call("service.status", { service_name: "none" })).rejects.toMatchObject({
      code: "not_found",
    });
    client.close();
  });

  it("tells the user to reset when the agent shares no protocol version with this pyro", async () => {
    const { socket } = await startAgent({
      PYRO_AGENT_PROTOCOL_RANGE: `${PROTOCOL_MAX + 1}-${PROTOCOL_MAX + 2}`,
    });
    const failure = await AgentClient.connect(socket).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PyroError);
    expect(failure).toMatchObject({ code: "protocol_error" });
    const message = (failure as PyroError).message;
    expect(message).toContain(`protocol versions ${PROTOCOL_MAX + 1}-${PROTOCOL_MAX + 2}`);
    expect(message).toContain("Reset the workspace");
  });

  it("serves a client from before negotiation (exact protocol 1, every message a JSON frame)", async () => {
    const { socket } = await startAgent();
    const conn = net.createConnection(socket);
    const decoder = new FrameDecoder();
    const frames: Array<{ kind: number; message: Record<string, unknown> }> = [];
    conn.on("data", (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        frames.push({ kind: frame.kind, message: JSON.parse(frame.payload.toString()) });
      }
    });
    conn.write(encodeJson(0, { type: "hello", protocol_version: 1 }));
    conn.write(
      encodeJson(1, { type: "request", op: "exec", body: { command: "echo v1" }, upload: false }),
    );
    await waitFor(() => frames.length === 2);
    expect(frames[0]).toMatchObject({ kind: FrameKind.Json, message: { protocol_version: 1 } });
    expect(frames[1]).toMatchObject({
      kind: FrameKind.Json,
      message: { type: "response", ok: true, body: { stdout: "v1\n" } },
    });
    conn.destroy();
  });

  it("checks a request body against its op's schema before the handler runs", async () => {
    const { socket } = await startAgent();
    const { client } = await AgentClient.connect(socket);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["exec", { command: 42 }, "command"],
      ["exec", { command: "true", env: { A: 1 } }, "env.A"],
      ["files.read", { paths: "a.txt" }, "paths"],
      ["shell.write", { shell_id: "x", input: ["ls"] }, "input"],
      ["service.start", { service_name: "web" }, "command"],
    ];
    for (const [op, body, field] of cases) {
      const error = await client.requestRaw(op, body).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "invalid_argument", details: { op, field } });
      expect((error as PyroError).message).toContain(`agent operation '${op}': ${field}: expected`);
    }
    client.close();
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
    // 1 GiB (sparse: instant to make): the agent cannot send it all before the kill, however
    // fast it runs (8 MiB once went out whole within the 100 ms, and the export succeeded).
    fs.writeFileSync(path.join(root, "big.bin"), "");
    fs.truncateSync(path.join(root, "big.bin"), 1024 * 1024 * 1024);
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
          await new Promise((resolve) => setTimeout(resolve, 2));
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

describe("the agent's check of its own answers", () => {
  let server: net.Server | null = null;
  let dir = "";

  afterEach(() => {
    server?.close();
    server = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The agent's real server and handler table, serving `handlers` on a unix socket. */
  async function serve(handlers: HandlerTable): Promise<string> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-table-"));
    const socket = path.join(dir, "agent.sock");
    server = net.createServer((stream) =>
      serveConnection(stream, { handlers, hello: () => ({ ...HELLO_FIELDS }) }),
    );
    await new Promise<void>((resolve) => server?.listen(socket, resolve));
    return socket;
  }

  const HELLO_FIELDS = {
    agent_version: "test",
    node_version: process.version,
    pid: process.pid,
    workspace_root: "/workspace",
    capabilities: ["shell.close_all", "shutdown"],
  };

  it("reports a handler's answer of the wrong shape as internal, and never sends it", async () => {
    // JSON.parse stands in for a handler bug the compiler cannot see (its result is any).
    const handlers = new HandlerTable()
      .set("shell.close_all", async () => JSON.parse('{"closed_count":"three"}'))
      .set("shutdown", async () => ({ shutting_down: true }));
    const { client } = await AgentClient.connect(await serve(handlers));
    const raw = await client.requestRaw("shell.close_all", {}).catch((error: unknown) => error);
    expect(raw).toMatchObject({
      code: "internal",
      details: { op: "shell.close_all", field: "closed_count" },
    });
    expect((raw as PyroError).message).toContain(
      "the agent's answer to 'shell.close_all' does not match the protocol (an agent bug): closed_count: expected number",
    );
    // The connection stays usable, and a handler that answers right is answered as before.
    await expect(client.call("shutdown", {})).resolves.toEqual({ shutting_down: true });
    client.close();
  });
});
