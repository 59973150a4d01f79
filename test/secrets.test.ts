// Workspace secrets on the host backend (docs/secrets.md): validation at create, the values
// kept out of every stored file, materialised outside /workspace, handed to commands only
// through secret_env, and redacted from every path output takes back to the caller.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { beforeEach, describe, expect, it } from "vitest";

import { PyroError } from "../src/errors.js";
import type { Manager } from "../src/runtime.js";
import { createServer } from "../src/mcp/embed.js";
import { Pyro } from "../src/sdk/pyro.js";
import { Redactor } from "../src/shared/redact.js";

import { useTempState } from "./helpers.js";
import { callTool, cliPath, pyroEnv, textOf } from "./mcp-client.js";

const state = useTempState();
let manager: Manager;

beforeEach(() => {
  manager = state.manager({ backend: "host" });
});

// Distinctive values: a grep for them finds nothing by accident.
const TOKEN = "tok-7f3a9c1e5b-SECRET-value/with+chars?&=";
const KEY = "k3y-ff00ee11dd22cc33";

function workspaceDir(id: string): string {
  return path.join(state.stateDir(), "workspaces", id);
}

async function createWithSecrets(extra: Record<string, unknown> = {}): Promise<string> {
  const workspace = await manager.createWorkspace({
    allow_host_compat: true,
    secrets: [
      { name: "API_TOKEN", value: TOKEN },
      { name: "DEPLOY_KEY", value: KEY },
    ],
    ...extra,
  });
  return workspace.workspace_id;
}

function forms(value: string): string[] {
  const bytes = Buffer.from(value);
  return [
    value,
    bytes.toString("base64").replace(/=+$/, ""),
    bytes.toString("base64url"),
    encodeURIComponent(value),
  ];
}

function expectNoSecret(text: string): void {
  for (const value of [TOKEN, KEY]) {
    for (const form of forms(value)) expect(text).not.toContain(form);
  }
}

async function expectFailure(work: Promise<unknown>): Promise<PyroError> {
  const error = await work.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PyroError);
  return error as PyroError;
}

describe("Redactor", () => {
  const redactor = new Redactor([{ name: "T", value: "hunter22" }]);

  it("redacts the value, its base64 and URL-encoded forms", () => {
    const b64 = Buffer.from("hunter22").toString("base64");
    expect(redactor.redact(`a hunter22 b ${b64} c`)).toBe("a [REDACTED:T] b [REDACTED:T] c");
    const url = new Redactor([{ name: "U", value: "a b&c" }]);
    expect(url.redact("x=a%20b%26c")).toBe("x=[REDACTED:U]");
  });

  it("redacts a value split across chunks, one character at a time", () => {
    const stream = redactor.byteStream();
    let out = "";
    for (const char of "say hunter22 twice: hunter22!") out += stream.write(Buffer.from(char));
    out += stream.end();
    expect(out).toBe("say [REDACTED:T] twice: [REDACTED:T]!");
  });

  it("holds back only a tail that could begin a value, and flushes it at the end", () => {
    const stream = redactor.byteStream();
    expect(stream.write(Buffer.from("abc hun")).toString()).toBe("abc ");
    expect(stream.write(Buffer.from("gry")).toString()).toBe("hungry");
    expect(stream.write(Buffer.from(" hunt")).toString()).toBe(" ");
    expect(stream.end().toString()).toBe("hunt");
  });

  it("prefers the longer of two values that start alike, even across chunks", () => {
    const two = new Redactor([
      { name: "SHORT", value: "abcd" },
      { name: "LONG", value: "abcdefgh" },
    ]);
    const stream = two.byteStream();
    const out = [
      stream.write(Buffer.from("x abcd")),
      stream.write(Buffer.from("efgh y abcd")),
      stream.end(),
    ].join("");
    expect(out).toBe("x [REDACTED:LONG] y [REDACTED:SHORT]");
  });

  it("keeps a character split across chunks whole", () => {
    const stream = redactor.byteStream();
    const bytes = Buffer.from("é hunter22");
    const out = [stream.write(bytes.subarray(0, 1)), stream.write(bytes.subarray(1)), stream.end()];
    expect(Buffer.concat(out).toString()).toBe("é [REDACTED:T]");
  });

  it("never shows the part of a value cut by a snapshot's edges", () => {
    expect(redactor.redactSnapshot("out: hunte", { tailOpen: true })).toBe("out: ");
    expect(redactor.redactSnapshot("ter22 and more", { headCut: true })).toBe(
      "[REDACTED:T] and more",
    );
  });
});

describe("workspace secrets (host backend)", () => {
  it("keeps only names and source kinds in the record and the result", async () => {
    const file = path.join(state.base(), "key.txt");
    fs.writeFileSync(file, KEY);
    const workspace = await manager.createWorkspace({
      allow_host_compat: true,
      secrets: [
        { name: "API_TOKEN", value: TOKEN },
        { name: "DEPLOY_KEY", file_path: file },
      ],
    });
    expect(workspace.secrets).toEqual([
      { name: "API_TOKEN", source_kind: "literal" },
      { name: "DEPLOY_KEY", source_kind: "file" },
    ]);
    const record = fs.readFileSync(
      path.join(workspaceDir(workspace.workspace_id), "workspace.json"),
      "utf8",
    );
    expectNoSecret(record);
    expect(JSON.parse(record).secrets).toEqual(workspace.secrets);
    // The host's copy: a 0600 file in a 0700 directory.
    const values = path.join(workspaceDir(workspace.workspace_id), "secrets", "values.json");
    expect(fs.statSync(values).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(values)).mode & 0o777).toBe(0o700);
  });

  it("materialises secrets as 0400 files outside /workspace and passes secret_env", async () => {
    const id = await createWithSecrets();
    const listing = await manager.execWorkspace(id, {
      command:
        'echo "$PYRO_SECRETS_DIR"; stat -c "%a %n" "$PYRO_SECRETS_DIR" "$PYRO_SECRETS_DIR"/*; ls -A /workspace',
    });
    const [dir, ...rest] = listing.stdout.trim().split("\n");
    expect(dir).toBe(path.join(workspaceDir(id), "runtime", "agent-state", "secrets"));
    expect(rest).toEqual([`700 ${dir}`, `400 ${dir}/API_TOKEN`, `400 ${dir}/DEPLOY_KEY`]);
    expect(fs.readFileSync(path.join(dir!, "API_TOKEN"), "utf8")).toBe(TOKEN);
    // Without secret_env the variable is absent; with it, present (and redacted on output).
    const without = await manager.execWorkspace(id, { command: 'echo "[${API_TOKEN:-unset}]"' });
    expect(without.stdout).toBe("[unset]\n");
    const withEnv = await manager.execWorkspace(id, {
      command:
        'echo "[$TOKEN]"; test "$TOKEN" = "$(cat "$PYRO_SECRETS_DIR/API_TOKEN")" && echo same',
      secret_env: { TOKEN: "API_TOKEN" },
    });
    expect(withEnv.stdout).toBe("[[REDACTED:API_TOKEN]]\nsame\n");
  });

  it("redacts exec output: returned, streamed, logged, base64 and URL-encoded", async () => {
    const id = await createWithSecrets();
    const chunks: string[] = [];
    const result = await manager.execWorkspace(
      id,
      {
        command: [
          'echo "plain $T"',
          'printf %s "$T" | base64 -w0; echo',
          `node -e 'console.log(encodeURIComponent(process.env.T))'`,
          'echo "err $K" >&2',
        ].join("; "),
        secret_env: { T: "API_TOKEN", K: "DEPLOY_KEY" },
      },
      { onOutput: (_stream, chunk) => chunks.push(chunk.toString("utf8")) },
    );
    expect(result.stdout).toBe(
      "plain [REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n",
    );
    expect(result.stderr).toBe("err [REDACTED:DEPLOY_KEY]\n");
    const streamed = chunks.join("");
    expectNoSecret(streamed);
    expect(streamed).toContain("plain [REDACTED:API_TOKEN]");
    const logs = await manager.logsWorkspace(id);
    expect(logs.entries[0]?.stdout).toBe(result.stdout);
    expectNoSecret(JSON.stringify(logs));
  });

  it("redacts a value printed one character at a time, streamed and in the result", async () => {
    const id = await createWithSecrets();
    const chunks: Buffer[] = [];
    const result = await manager.execWorkspace(
      id,
      {
        command: `v="$T"; while [ -n "$v" ]; do c="\${v%"\${v#?}"}"; printf %s "$c"; v="\${v#?}"; sleep 0.01; done; echo`,
        secret_env: { T: "API_TOKEN" },
      },
      { onOutput: (_stream, chunk) => chunks.push(chunk) },
    );
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).toString()).toBe("[REDACTED:API_TOKEN]\n");
    expect(result.stdout).toBe("[REDACTED:API_TOKEN]\n");
  });

  it("redacts command_read pages of a background command, also mid-value", async () => {
    const id = await createWithSecrets();
    const started = await manager.execWorkspace(id, {
      command: `echo start; sleep 0.3; v="$T"; while [ -n "$v" ]; do c="\${v%"\${v#?}"}"; printf %s "$c"; v="\${v#?}"; sleep 0.02; done; echo; echo end`,
      secret_env: { T: "API_TOKEN" },
      wait_seconds: 0.1,
    });
    expect(started.state).toBe("running");
    const commandId = started.command_id!;
    let cursor = 0;
    let seen = "";
    for (;;) {
      const page = await manager.readCommand(id, commandId, {
        stdout_cursor: cursor,
        wait_seconds: 0.05,
      });
      expectNoSecret(page.stdout);
      seen += page.stdout;
      cursor = page.next_stdout_cursor;
      if (page.state === "exited" && !page.truncated) break;
    }
    expect(seen).toBe("start\n[REDACTED:API_TOKEN]\nend\n");
    // A reader that starts in the middle of the value sees the marker, not its tail.
    const offset = "start\n".length + 5;
    const middle = await manager.readCommand(id, commandId, { stdout_cursor: offset });
    expect(middle.stdout).toBe("[REDACTED:API_TOKEN]\nend\n");
    const waited = await manager.waitCommand(id, commandId, { wait_seconds: 5 });
    expect(waited.stdout).toBe("start\n[REDACTED:API_TOKEN]\nend\n");
    expectNoSecret(JSON.stringify(await manager.logsWorkspace(id)));
  });

  it("redacts shell reads, including a value split across reads", async () => {
    const id = await createWithSecrets();
    const shell = await manager.openShell(id, { secret_env: { TOKEN: "API_TOKEN" } });
    await manager.writeShell(id, shell.shell_id, {
      input: `v="$TOKEN"; while [ -n "$v" ]; do c="\${v%"\${v#?}"}"; printf %s "$c"; v="\${v#?}"; sleep 0.02; done; echo; echo DONE-$((40+2))`,
    });
    let cursor = 0;
    let seen = "";
    for (let round = 0; round < 400 && !seen.includes("DONE-42\r\n"); round += 1) {
      const page = await manager.readShell(id, shell.shell_id, { cursor, wait_seconds: 0.05 });
      expectNoSecret(page.output);
      seen += page.output;
      cursor = page.next_cursor;
    }
    expect(seen).toContain("[REDACTED:API_TOKEN]\r\nDONE-42");
    const whole = await manager.readShell(id, shell.shell_id, { cursor: 0 });
    expectNoSecret(whole.output);
    await manager.closeShell(id, shell.shell_id);
  });

  it("redacts service logs", async () => {
    const id = await createWithSecrets();
    await manager.startService(id, "web", {
      command: 'echo "service sees $T"; printf %s "$T" | base64; echo "on stderr $T" >&2; sleep 30',
      secret_env: { T: "API_TOKEN" },
    });
    let logs = await manager.logsService(id, "web");
    for (let round = 0; round < 100 && !logs.stderr.includes("on stderr"); round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      logs = await manager.logsService(id, "web");
    }
    expect(logs.stdout).toContain("service sees [REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]");
    expect(logs.stderr).toBe("on stderr [REDACTED:API_TOKEN]\n");
    expectNoSecret(JSON.stringify(logs));
    await manager.stopService(id, "web");
  });

  it("redacts values from error messages", async () => {
    const id = await createWithSecrets();
    // A cwd that does not exist is quoted in the agent's error: here it carries the value.
    const error = await expectFailure(
      manager.execWorkspace(id, { command: "true", cwd: `/workspace/${KEY}` }),
    );
    expect(error.message).toContain("[REDACTED:DEPLOY_KEY]");
    expectNoSecret(error.message);
    expectNoSecret(JSON.stringify(error.details));
  });

  it("re-materialises secrets after a reset", async () => {
    const id = await createWithSecrets();
    await manager.resetWorkspace(id);
    const after = await manager.execWorkspace(id, {
      command: 'cat "$PYRO_SECRETS_DIR/DEPLOY_KEY"; echo; echo "$K"',
      secret_env: { K: "DEPLOY_KEY" },
    });
    expect(after.stdout).toBe("[REDACTED:DEPLOY_KEY]\n[REDACTED:DEPLOY_KEY]\n");
  });

  it("leaves no value in any stored file of the workspace, snapshot or export", async () => {
    const id = await createWithSecrets();
    await manager.execWorkspace(id, {
      command: 'echo "$T" "$K"; echo "$T" >&2; printf %s "$T" | base64',
      secret_env: { T: "API_TOKEN", K: "DEPLOY_KEY" },
    });
    await manager.execWorkspace(id, { command: "echo hello > note.txt" });
    // A value typed into a command line is redacted before the mirror stores it.
    const service = await manager.startService(id, "svc", {
      command: `echo "$T"; sleep 30 # ${TOKEN}`,
      secret_env: { T: "API_TOKEN" },
    });
    expectNoSecret(JSON.stringify(service));
    expect(service.command).toContain("# [REDACTED:API_TOKEN]");
    await manager.execWorkspace(id, { command: `echo ${KEY} in the command line` });
    await manager.createSnapshot(id, "one");
    const exported = path.join(state.base(), "exported");
    await manager.exportWorkspace(id, { path: "/workspace", output_path: exported });
    await manager.diffWorkspace(id);
    await manager.statusWorkspace(id);
    const dir = workspaceDir(id);
    // Two places hold values by design: the host's copy (secrets/values.json) and the
    // sandbox's own copy, which on the host backend is the agent's private state directory
    // (runtime/agent-state/secrets, what /run/pyro-secrets is in a guest).
    const allowed = new Set([
      path.join(dir, "secrets", "values.json"),
      path.join(dir, "runtime", "agent-state", "secrets", "API_TOKEN"),
      path.join(dir, "runtime", "agent-state", "secrets", "DEPLOY_KEY"),
    ]);
    const files = walk(dir).filter((file) => !allowed.has(file));
    expect(files.length).toBeGreaterThan(3);
    for (const file of [...files, ...walk(exported)]) {
      const bytes = fs.readFileSync(file);
      for (const value of [TOKEN, KEY]) {
        for (const form of forms(value)) {
          expect(bytes.includes(Buffer.from(form)), `${form} in ${file}`).toBe(false);
        }
      }
    }
    // And grep agrees.
    const grep = spawnSync("grep", ["-rlF", TOKEN, dir, exported], { encoding: "utf8" });
    const hits = grep.stdout.split("\n").filter((line) => line !== "" && !allowed.has(line));
    expect(hits).toEqual([]);
    // Deleting the workspace removes both copies.
    await manager.deleteWorkspace(id);
    expect(fs.existsSync(dir)).toBe(false);
  });

  describe("validation", () => {
    const create = (secrets: unknown) =>
      expectFailure(
        manager.createWorkspace({
          allow_host_compat: true,
          secrets: secrets as never,
        }),
      );

    it("refuses bad names, duplicates, empty and oversized values without echoing values", async () => {
      let error = await create([{ name: "1BAD", value: TOKEN }]);
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toContain("secrets[0].name must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$");
      expectNoSecret(error.message);
      error = await create([
        { name: "A", value: TOKEN },
        { name: "A", value: KEY },
      ]);
      expect(error.message).toContain("secret 'A' is given twice");
      expectNoSecret(error.message + JSON.stringify(error.details));
      error = await create([{ name: "A", value: "" }]);
      expect(error.message).toContain("must not be empty");
      error = await create([{ name: "A", value: `${TOKEN}${"x".repeat(9000)}` }]);
      expect(error.message).toContain("must be at most 8192 bytes");
      expectNoSecret(error.message + JSON.stringify(error.details));
      error = await create([{ name: "A", value: TOKEN, file_path: "/etc/hostname" }]);
      expect(error.message).toContain("exactly one of value and file_path");
      error = await create([{ name: "A", value: `a\0${TOKEN}` }]);
      expect(error.message).toContain("without NUL bytes");
      expectNoSecret(error.message);
      const many = Array.from({ length: 33 }, (_, index) => ({ name: `S${index}`, value: "v" }));
      error = await create(many);
      expect(error.message).toContain("at most 32 items");
      // Nothing was created by any refused call.
      const workspaces = path.join(state.stateDir(), "workspaces");
      expect(fs.existsSync(workspaces) ? fs.readdirSync(workspaces) : []).toEqual([]);
    });

    it("refuses a file_path that is missing or not UTF-8", async () => {
      let error = await create([
        { name: "A", file_path: path.join(os.tmpdir(), "no-such-secret") },
      ]);
      expect(error.code).toBe("not_found");
      const binary = path.join(state.base(), "binary");
      fs.writeFileSync(binary, Buffer.from([0xff, 0xfe, 0x00, 0x41]));
      error = await create([{ name: "A", file_path: binary }]);
      expect(error.message).toContain("must be UTF-8 text");
    });

    it("refuses secret_env naming an unknown secret, naming it", async () => {
      const id = await createWithSecrets();
      const error = await expectFailure(
        manager.execWorkspace(id, { command: "true", secret_env: { X: "NOPE" } }),
      );
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toContain("no secret named 'NOPE'");
      expect(error.message).toContain("API_TOKEN, DEPLOY_KEY");
      // Thunks: each call starts when its failure is awaited, so no rejection goes unhandled.
      for (const call of [
        () => manager.openShell(id, { secret_env: { X: "NOPE" } }),
        () => manager.startService(id, "s", { command: "sleep 1", secret_env: { X: "NOPE" } }),
      ]) {
        expect((await expectFailure(call())).message).toContain("no secret named 'NOPE'");
      }
      const clash = await expectFailure(
        manager.execWorkspace(id, {
          command: "true",
          env: { X: "1" },
          secret_env: { X: "API_TOKEN" },
        }),
      );
      expect(clash.message).toContain("X is also set in env");
      const badEnv = await expectFailure(
        manager.execWorkspace(id, { command: "true", secret_env: { "1X": "API_TOKEN" } }),
      );
      expect(badEnv.message).toContain("variable names must match");
    });
  });
});

describe("secrets over MCP and the CLI", () => {
  it("checks secrets[].file_path against the MCP roots; exec output and progress are redacted", async () => {
    const root = fs.mkdtempSync(path.join(state.base(), "root-"));
    const outside = path.join(state.base(), "outside-token");
    fs.writeFileSync(outside, TOKEN);
    const inside = path.join(root, "token");
    fs.writeFileSync(inside, TOKEN);
    const pyro = new Pyro({ backend: "host", baseDir: state.stateDir() });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createServer(pyro, { allowedPaths: [root], profile: "workspace-full" }).connect(
      serverSide,
    );
    const mcp = new Client({ name: "secrets-test", version: "0.0.0" });
    await mcp.connect(clientSide);
    try {
      const refused = await callTool(mcp, "workspace_create", {
        allow_host_compat: true,
        secrets: [{ name: "API_TOKEN", file_path: outside }],
      });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain(
        `secrets[0].file_path '${outside}' is outside the allowed roots`,
      );
      const created = await callTool(mcp, "workspace_create", {
        allow_host_compat: true,
        secrets: [{ name: "API_TOKEN", file_path: inside }],
      });
      const id = created.structuredContent?.workspace_id as string;
      expect(created.structuredContent?.secrets).toEqual([
        { name: "API_TOKEN", source_kind: "file" },
      ]);
      const progress: string[] = [];
      const exec = await callTool(
        mcp,
        "workspace_exec",
        {
          workspace_id: id,
          command: 'echo "one $T"; sleep 0.2; echo "two $T"',
          secret_env: { T: "API_TOKEN" },
        },
        { onprogress: (event) => progress.push(event.message ?? "") },
      );
      expect(exec.structuredContent?.stdout).toBe(
        "one [REDACTED:API_TOKEN]\ntwo [REDACTED:API_TOKEN]\n",
      );
      expectNoSecret(JSON.stringify(exec) + progress.join("\n"));
      await callTool(mcp, "workspace_delete", { workspace_id: id });
    } finally {
      await mcp.close();
      pyro.close();
    }
  });

  it("takes --secret, --secret-file and --secret-env, and never echoes a malformed flag", () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [cliPath, ...args], {
        encoding: "utf8",
        env: pyroEnv(state.stateDir()),
      });
    const keyFile = path.join(state.base(), "key");
    fs.writeFileSync(keyFile, KEY);
    const created = cli(
      "workspace",
      "create",
      "debian:12",
      "--allow-host-compat",
      "--secret",
      `API_TOKEN=${TOKEN}`,
      "--secret-file",
      `DEPLOY_KEY=${keyFile}`,
      "--json",
    );
    expect(created.status, created.stderr).toBe(0);
    const workspace = JSON.parse(created.stdout) as { workspace_id: string; secrets: unknown };
    expect(workspace.secrets).toEqual([
      { name: "API_TOKEN", source_kind: "literal" },
      { name: "DEPLOY_KEY", source_kind: "file" },
    ]);
    const exec = cli(
      "workspace",
      "exec",
      workspace.workspace_id,
      "--secret-env",
      "API_TOKEN",
      "--secret-env",
      "DEPLOY_KEY=KEY",
      "--",
      "sh",
      "-c",
      'echo "$API_TOKEN $KEY"',
    );
    expect(exec.stdout).toBe("[REDACTED:API_TOKEN] [REDACTED:DEPLOY_KEY]\n");
    const unknown = cli(
      "workspace",
      "exec",
      workspace.workspace_id,
      "--secret-env",
      "NOPE",
      "--",
      "true",
    );
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain("no secret named 'NOPE'");
    // A flag without a name before '=' may be a value: the refusal does not repeat it.
    const malformed = cli(
      "workspace",
      "create",
      "debian:12",
      "--allow-host-compat",
      "--secret",
      `=${TOKEN}`,
    );
    expect(malformed.status).not.toBe(0);
    expect(malformed.stderr).toContain("--secret must be NAME=VALUE");
    expectNoSecret(malformed.stderr + malformed.stdout);
    const badName = cli(
      "workspace",
      "create",
      "debian:12",
      "--allow-host-compat",
      "--secret",
      `9X=${TOKEN}`,
    );
    expect(badName.stderr).toContain("secrets[0].name must match");
    expectNoSecret(badName.stderr + badName.stdout);
  }, 60_000);
});

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}
