/**
 * Hostile MCP traffic against the built `pyro mcp serve`: malformed and oversize JSON-RPC on
 * raw stdio, unauthenticated and cross-origin HTTP, and host paths outside the server's
 * roots. Every malformed request must get a JSON-RPC error answer and the server must keep
 * serving.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";

import { createServer } from "../src/mcp/embed.js";
import { profileTools } from "../src/mcp/profiles.js";
import { HOST_PATH_FIELDS } from "../src/mcp/roots.js";
import { operations } from "../src/operations/index.js";
import { Pyro } from "../src/sdk/pyro.js";
import { exitOf, useTempState, writeTree } from "./helpers.js";
import {
  callTool,
  cliPath,
  connectStdio,
  httpClient,
  pyroEnv,
  startHttp,
  stopHttp,
  textOf,
  type HttpServer,
} from "./mcp-client.js";

const state = useTempState();
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Answer {
  jsonrpc: string;
  id: string | number | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** `pyro mcp serve` on raw stdio: write lines, read answers one by one. */
function rawStdio(): { write: (text: string) => void; next: () => Promise<Answer> } {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [cliPath, "mcp", "serve", "--profile", "workspace-full"],
    { env: pyroEnv(state.stateDir()) },
  );
  cleanups.push(async () => {
    const exited = exitOf(child);
    child.stdin.end();
    child.kill("SIGTERM");
    await exited;
  });
  child.stdin.on("error", () => undefined);
  const answers: Answer[] = [];
  const waiters: Array<(answer: Answer) => void> = [];
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    for (let index = pending.indexOf("\n"); index !== -1; index = pending.indexOf("\n")) {
      const answer = JSON.parse(pending.slice(0, index)) as Answer;
      pending = pending.slice(index + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(answer);
      else answers.push(answer);
    }
  });
  return {
    write: (text) => child.stdin.write(text),
    next: () => {
      const ready = answers.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise<Answer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no answer within 20 s")), 20_000);
        waiters.push((answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
      });
    },
  };
}

describe("pyro mcp serve on raw stdio", () => {
  it("answers every malformed request with a JSON-RPC error and keeps serving", async () => {
    const { write, next } = rawStdio();
    const cases: Array<[string, string | number | null, number, string]> = [
      ["{not json", null, -32700, "Parse error"],
      ['{"jsonrpc":"2.0","id":null,"method":"tools/list"}', null, -32600, "got null"],
      ['{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}', null, -32600, "got the number 1.5"],
      ['{"jsonrpc":"2.0","id":1e300,"method":"tools/list"}', null, -32600, "1e+300"],
      ['{"jsonrpc":"2.0","id":true,"method":"tools/list"}', null, -32600, "got a boolean"],
      ['{"jsonrpc":"2.0","id":3,"method":"tools/list","params":[1]}', 3, -32602, "got an array"],
      ['{"jsonrpc":"2.0","id":"s","method":"tools/list","params":"x"}', "s", -32602, "a string"],
      [
        '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vm_list_environments","_meta":{"progressToken":{"a":1}}}}',
        4,
        -32602,
        "progressToken must be a string or an integer, got an object",
      ],
      [
        '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":5}}',
        5,
        -32602,
        "params.name",
      ],
      ['{"jsonrpc":"1.0","id":6,"method":"tools/list"}', 6, -32600, 'jsonrpc must be "2.0"'],
      ['{"jsonrpc":"2.0","id":7,"method":42}', 7, -32600, "method must be a non-empty string"],
      ['[{"jsonrpc":"2.0","id":8,"method":"tools/list"}]', null, -32600, "batches"],
      ["42", null, -32600, "must be a JSON object"],
      ['{"jsonrpc":"2.0","id":9,"method":"no/such"}', 9, -32601, "Method not found"],
    ];
    for (const [line, id, code, fragment] of cases) {
      write(`${line}\n`);
      const answer = await next();
      expect(answer, line).toMatchObject({ jsonrpc: "2.0", id, error: { code } });
      expect(answer.error?.message, line).toContain(fragment);
    }
    // A bad notification gets no answer (JSON-RPC forbids one); the next request does.
    write('{"jsonrpc":"2.0","method":"notifications/progress","params":[1]}\n');
    write('{"jsonrpc":"2.0","id":10,"method":"ping"}\n');
    expect(await next()).toMatchObject({ id: 10, result: {} });
  });

  it("refuses a message over 10 MiB with an error answer and answers the next one", async () => {
    const { write, next } = rawStdio();
    const huge = "x".repeat(11 * 1024 * 1024);
    // The SDK's client writes the id last, after the params.
    write(
      `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"shell_write","arguments":{"input":"${huge}"}},"id":21}\n`,
    );
    write('{"jsonrpc":"2.0","id":22,"method":"tools/list"}\n');
    const refused = await next();
    expect(refused).toMatchObject({ id: 21, error: { code: -32600 } });
    expect(refused.error?.message).toContain("over the limit of 10485760 bytes");
    const listed = await next();
    expect(listed.id).toBe(22);
    expect((listed.result?.tools as unknown[]).length).toBe(operations.length);
    // An oversize line without a recognisable id is still answered (to id null).
    write(`[${huge}\n{"jsonrpc":"2.0","id":23,"method":"ping"}\n`);
    expect(await next()).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await next()).toMatchObject({ id: 23, result: {} });
  });
});

/** A POST to the HTTP server with raw headers and body (node:http: Host can be set). */
function post(
  url: URL,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          ...headers,
        },
      },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }),
        );
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

async function httpServer(
  options: Parameters<typeof startHttp>[1] = {},
): Promise<HttpServer & { auth: Record<string, string> }> {
  const started = await startHttp(state.stateDir(), options);
  cleanups.push(() => stopHttp(started.server));
  return { ...started, auth: { Authorization: `Bearer ${started.token}` } };
}

const LIST = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';

describe("pyro mcp serve --http", () => {
  it("requires the bearer token it generated into a 0600 file, and reuses it", async () => {
    const first = await httpServer();
    const tokenFile = path.join(state.stateDir(), "mcp", "http-token");
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.stderr()).toContain(`token: ${first.token} (kept in ${tokenFile}, mode 0600)`);
    expect(fs.readFileSync(tokenFile, "utf8").trim()).toBe(first.token);
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(tokenFile)).mode & 0o777).toBe(0o700);

    const none = await post(first.url, LIST);
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="pyro-mcp"');
    expect(JSON.parse(none.body)).toMatchObject({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32000, message: expect.stringContaining("Unauthorized") },
    });
    const wrong = await post(first.url, LIST, { Authorization: `Bearer ${"x".repeat(43)}` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers["www-authenticate"]).toContain('error="invalid_token"');
    const basic = await post(first.url, LIST, { Authorization: `Basic ${first.token}` });
    expect(basic.status).toBe(401);

    const client = await httpClient(first.url, first.token);
    cleanups.push(() => client.close());
    // The default profile, workspace-core.
    expect((await client.listTools()).tools).toHaveLength(profileTools("workspace-core").length);
    expect(await stopHttp(first.server)).toBe(0);

    // A restart keeps the token; a token file others can read is replaced.
    const second = await httpServer();
    expect(second.token).toBe(first.token);
    await stopHttp(second.server);
    fs.chmodSync(tokenFile, 0o644);
    const third = await httpServer();
    expect(third.token).not.toBe(first.token);
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect((await post(third.url, LIST, first.auth)).status).toBe(401);
    await stopHttp(third.server);
    // A planted symlink (another user's file, a path they chose) is refused, not followed.
    const planted = path.join(state.base(), "planted-token");
    fs.writeFileSync(planted, `${"p".repeat(43)}\n`, { mode: 0o600 });
    fs.rmSync(tokenFile);
    fs.symlinkSync(planted, tokenFile);
    const refused = spawnSync(process.execPath, [cliPath, "mcp", "serve", "--http", "0"], {
      env: pyroEnv(state.stateDir()),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `the MCP token file ${tokenFile} must be a regular file owned by this user; it is a symlink or special file`,
    );
  });

  it("refuses foreign Origins and Host names (DNS rebinding) with JSON-RPC errors", async () => {
    const server = await httpServer({ args: ["--allow-origin", "https://app.example"] });
    const evil = await post(server.url, LIST, { ...server.auth, Origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body)).toMatchObject({
      error: { code: -32000, message: expect.stringContaining("Origin 'http://evil.example'") },
    });
    const rebound = await post(server.url, LIST, {
      ...server.auth,
      Host: `evil.example:${server.url.port}`,
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain("Host header");
    for (const origin of [`http://localhost:${server.url.port}`, "https://app.example"]) {
      const allowed = await post(server.url, LIST, { ...server.auth, Origin: origin });
      expect(allowed.status, origin).toBe(200);
    }
  });

  it("answers oversize, unparsable and invalid bodies with JSON-RPC errors, never HTML", async () => {
    const server = await httpServer();
    const big = await fetch(server.url, {
      method: "POST",
      headers: {
        ...server.auth,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: "x".repeat(11 * 1024 * 1024),
    });
    expect(big.status).toBe(413);
    expect(big.headers.get("content-type")).toBe("application/json");
    expect(await big.json()).toMatchObject({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: expect.stringContaining("10485760 bytes") },
    });
    const cases: Array<[string, number, string | number | null, number]> = [
      ["{not json", 400, null, -32700],
      ['{"jsonrpc":"2.0","id":null,"method":"tools/list"}', 400, null, -32600],
      ['{"jsonrpc":"2.0","id":7,"method":"tools/list","params":[]}', 200, 7, -32602],
      ["[]", 400, null, -32600],
    ];
    for (const [body, status, id, code] of cases) {
      const response = await post(server.url, body, server.auth);
      expect(response.status, body).toBe(status);
      expect(response.headers["content-type"], body).toBe("application/json");
      expect(JSON.parse(response.body), body).toMatchObject({
        jsonrpc: "2.0",
        id,
        error: { code },
      });
    }
    const get = await fetch(server.url, { headers: server.auth });
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ error: { code: -32000 } });
    const elsewhere = await post(new URL("/other", server.url), LIST, server.auth);
    expect(elsewhere.status).toBe(404);
    expect(JSON.parse(elsewhere.body)).toMatchObject({ error: { code: -32000 } });
  });

  it("refuses a non-loopback bind unless the token is chosen explicitly", () => {
    const refused = spawnSync(process.execPath, [cliPath, "mcp", "serve", "--http", "0.0.0.0:0"], {
      env: pyroEnv(state.stateDir()),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      "--http 0.0.0.0:0 binds to a non-loopback address, which other machines can reach; choose their token: set PYRO_MCP_TOKEN or pass --token-file",
    );
    const weak = spawnSync(process.execPath, [cliPath, "mcp", "serve", "--http", "0"], {
      env: { ...pyroEnv(state.stateDir()), PYRO_MCP_TOKEN: "short" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(weak.status).toBe(1);
    expect(weak.stderr).toContain("PYRO_MCP_TOKEN must hold a token of at least 16 characters");
  });

  it("serves a non-loopback bind with PYRO_MCP_TOKEN or a private --token-file", async () => {
    const token = "operator-chosen-token-0123456789";
    const server = await httpServer({ address: "0.0.0.0:0", env: { PYRO_MCP_TOKEN: token } });
    expect(server.stderr()).toContain("the token in PYRO_MCP_TOKEN");
    expect(server.stderr()).not.toContain(token);
    const url = new URL(`http://127.0.0.1:${server.url.port}/mcp`);
    expect((await post(url, LIST)).status).toBe(401);
    expect((await post(url, LIST, { Authorization: `Bearer ${token}` })).status).toBe(200);

    const file = path.join(state.base(), "token");
    fs.writeFileSync(file, `${token}-file\n`, { mode: 0o644 });
    const loose = spawnSync(
      process.execPath,
      [cliPath, "mcp", "serve", "--http", "0.0.0.0:0", "--token-file", file],
      { env: pyroEnv(state.stateDir()), encoding: "utf8", timeout: 20_000 },
    );
    expect(loose.status).toBe(1);
    expect(loose.stderr).toContain(
      `--token-file '${file}' must not be readable or writable by others (mode 644)`,
    );
    fs.chmodSync(file, 0o600);
    const fromFile = await httpServer({ address: "0.0.0.0:0", args: ["--token-file", file] });
    const fileUrl = new URL(`http://127.0.0.1:${fromFile.url.port}/mcp`);
    expect((await post(fileUrl, LIST, { Authorization: `Bearer ${token}-file` })).status).toBe(200);
  });
});

describe("host paths an MCP client may name", () => {
  function dirs() {
    const root = writeTree(path.join(state.base(), "project"), { "app.txt": "inside\n" });
    const outside = writeTree(path.join(state.base(), "secret"), { "key.txt": "outside\n" });
    fs.symlinkSync(outside, path.join(root, "link-out"));
    return { root, outside };
  }

  async function client(options: Parameters<typeof connectStdio>[1]): Promise<Client> {
    const connected = await connectStdio(state.stateDir(), options);
    cleanups.push(() => connected.client.close());
    return connected.client;
  }

  it("refuses seed_path, source_path and output_path outside the roots, symlinks resolved", async () => {
    const { root, outside } = dirs();
    const mcp = await client({ args: ["--allow-path", root] });
    const rule = `is outside the allowed roots (${root}, from --allow-path); the MCP server only reads host paths under its roots: pass --allow-path or declare MCP roots`;
    const seedOut = await callTool(mcp, "workspace_create", {
      seed_path: outside,
      allow_host_compat: true,
    });
    expect(textOf(seedOut)).toContain(`error [invalid_argument]: seed_path '${outside}' ${rule}`);
    const viaLink = await callTool(mcp, "workspace_create", {
      seed_path: path.join(root, "link-out"),
      allow_host_compat: true,
    });
    expect(textOf(viaLink)).toContain(
      `seed_path '${path.join(root, "link-out")}' (resolves to '${outside}') ${rule}`,
    );
    const etc = await callTool(mcp, "workspace_create", {
      seed_path: "/etc",
      allow_host_compat: true,
    });
    expect(textOf(etc)).toContain("seed_path '/etc' is outside the allowed roots");

    const created = await callTool(mcp, "workspace_create", {
      seed_path: root,
      allow_host_compat: true,
    });
    expect(created.isError, textOf(created)).toBeFalsy();
    const workspace_id = created.structuredContent?.workspace_id as string;
    cleanups.push(() => callTool(mcp, "workspace_delete", { workspace_id }));

    const pushOut = await callTool(mcp, "workspace_sync_push", {
      workspace_id,
      source_path: outside,
    });
    expect(textOf(pushOut)).toContain(`source_path '${outside}' is outside the allowed roots`);
    const exportOut = await callTool(mcp, "workspace_export", {
      workspace_id,
      path: "app.txt",
      output_path: path.join(root, "link-out", "stolen.txt"),
    });
    expect(textOf(exportOut)).toContain(
      `output_path '${path.join(root, "link-out", "stolen.txt")}' (resolves to '${path.join(outside, "stolen.txt")}') is outside the allowed roots (${root}, from --allow-path); the MCP server only writes host paths`,
    );
    // A dangling symlink on the way could be created outside later: refused too.
    fs.symlinkSync(path.join(state.base(), "not-yet"), path.join(root, "dangling"));
    const dangling = await callTool(mcp, "workspace_export", {
      workspace_id,
      path: "app.txt",
      output_path: path.join(root, "dangling", "x", "out.txt"),
    });
    expect(textOf(dangling)).toContain(
      `goes through the symlink '${path.join(root, "dangling")}', which does not resolve`,
    );
    expect(fs.existsSync(path.join(outside, "stolen.txt"))).toBe(false);
    expect(fs.existsSync(path.join(state.base(), "not-yet"))).toBe(false);

    const exported = await callTool(mcp, "workspace_export", {
      workspace_id,
      path: "app.txt",
      output_path: path.join(root, "out", "app.txt"),
    });
    expect(exported.isError, textOf(exported)).toBeFalsy();
    expect(fs.readFileSync(path.join(root, "out", "app.txt"), "utf8")).toBe("inside\n");
  });

  it("takes PYRO_ALLOWED_PATHS, else the working directory", async () => {
    const { root, outside } = dirs();
    const fromEnv = await client({
      env: { PYRO_ALLOWED_PATHS: `${outside}:${root}` },
      args: ["--profile", "workspace-full"],
    });
    const ok = await callTool(fromEnv, "vm_run", { command: "true", allow_host_compat: true });
    expect(ok.isError).toBeFalsy();
    const seeded = await callTool(fromEnv, "workspace_create", {
      seed_path: path.join(root, "link-out"),
      allow_host_compat: true,
    });
    expect(seeded.isError, textOf(seeded)).toBeFalsy();
    const id = seeded.structuredContent?.workspace_id as string;
    cleanups.push(() => callTool(fromEnv, "workspace_delete", { workspace_id: id }));

    const fromCwd = await client({ cwd: root });
    const refused = await callTool(fromCwd, "workspace_create", {
      seed_path: outside,
      allow_host_compat: true,
    });
    expect(textOf(refused)).toContain(
      `seed_path '${outside}' is outside the allowed roots (${root}, from the server's working directory)`,
    );
  });

  it("uses the roots a client declares, and asks again when they change", async () => {
    const { root, outside } = dirs();
    let roots = [{ uri: pathToFileURL(root).href, name: "project" }];
    const rooted = new Client(
      { name: "rooted", version: "0.0.0" },
      { capabilities: { roots: { listChanged: true } } },
    );
    rooted.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
    // The configured list only applies to clients without roots.
    const mcp = await client({ client: rooted, args: ["--allow-path", outside] });
    const refused = await callTool(mcp, "workspace_create", {
      seed_path: outside,
      allow_host_compat: true,
    });
    expect(textOf(refused)).toContain(
      `seed_path '${outside}' is outside the allowed roots (${root}, from the MCP client's roots)`,
    );
    roots = [{ uri: pathToFileURL(outside).href, name: "secret" }];
    await rooted.sendRootsListChanged();
    const accepted = await callTool(mcp, "workspace_create", {
      seed_path: outside,
      allow_host_compat: true,
    });
    expect(accepted.isError, textOf(accepted)).toBeFalsy();
    const id = accepted.structuredContent?.workspace_id as string;
    cleanups.push(() => callTool(mcp, "workspace_delete", { workspace_id: id }));
  });

  it("confines an embedded server to createServer({ allowedPaths })", async () => {
    const { root, outside } = dirs();
    const pyro = new Pyro({ backend: "host", baseDir: state.stateDir() });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createServer(pyro, { allowedPaths: [root] }).connect(serverSide);
    const mcp = new Client({ name: "embedder", version: "0.0.0" });
    await mcp.connect(clientSide);
    cleanups.push(async () => {
      await mcp.close();
      pyro.close();
    });
    const refused = await callTool(mcp, "workspace_create", {
      seed_path: outside,
      allow_host_compat: true,
    });
    expect(textOf(refused)).toContain(
      `is outside the allowed roots (${root}, from createServer({ allowedPaths }))`,
    );
    // The SDK's own methods keep their caller's paths.
    const direct = await pyro.createWorkspace({ seed_path: outside, allow_host_compat: true });
    await pyro.deleteWorkspace({ workspace_id: direct.workspace_id });
  });

  it("covers every host path field of the catalogue", () => {
    // Any input field named *_path is a host path (the guest ones are `path`, `dest`, `cwd`).
    const hostFields = operations.flatMap((operation) =>
      Object.keys(operation.input.shape)
        .filter((field) => field.endsWith("_path"))
        .map((field) => `${operation.name}.${field}`),
    );
    const guarded = Object.entries(HOST_PATH_FIELDS).flatMap(([name, fields]) =>
      Object.keys(fields).map((field) => `${name}.${field}`),
    );
    expect(hostFields.sort()).toEqual(guarded.sort());
  });
});
