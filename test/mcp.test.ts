import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";

import { operations } from "../src/operations/index.js";
import { Pyro } from "../src/sdk/pyro.js";
import { useTempState, writeTree } from "./helpers.js";
import { callTool, cliPath, connectHttp, connectStdio, pyroEnv, textOf } from "./mcp-client.js";

const state = useTempState();
const validator = new AjvJsonSchemaValidator();

/** Why `result` does not match the named operation's full, closed output schema, if it does not. */
function fullOutputErrors(name: string, result: unknown): string | undefined {
  const operation = operations.find((each) => each.name === name);
  if (!operation) return `no operation ${name}`;
  const schema = z.toJSONSchema(operation.output, { io: "output", target: "draft-7" });
  const check = validator.getValidator(schema as Parameters<typeof validator.getValidator>[0]);
  return check(result).errorMessage;
}
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

/** A server with every operation (workspace-full), or the given profile's tools. */
async function stdioClient(profile = "workspace-full"): Promise<Client> {
  // Seeds and exports live under the test's temp dir, so that is the server's root.
  const { client } = await connectStdio(state.stateDir(), {
    args: ["--allow-path", state.base(), ...(profile === "" ? [] : ["--profile", profile])],
  });
  clients.push(client);
  return client;
}

describe("pyro mcp serve (stdio)", () => {
  it("lists every catalogue operation as a tool with input and output schemas (workspace-full)", async () => {
    const client = await stdioClient();
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      operations.map((operation) => operation.name).sort(),
    );
    expect(tools).toHaveLength(52);
    for (const tool of tools) {
      expect(tool.description?.length ?? 0, tool.name).toBeGreaterThan(20);
      expect(tool.title?.length ?? 0, tool.name).toBeGreaterThan(3);
      expect(tool.annotations?.openWorldHint, tool.name).toBe(false);
      expect(tool.inputSchema.type).toBe("object");
      // The listed output schema names the fields a model goes on with (src/mcp/tool-schemas.ts).
      expect(tool.outputSchema?.type, tool.name).toBe("object");
      expect(tool.outputSchema?.required?.length ?? 0, tool.name).toBeGreaterThan(0);
    }
    const exec = tools.find((tool) => tool.name === "workspace_exec");
    expect(exec?.inputSchema).toMatchObject({
      required: ["workspace_id", "command"],
      properties: {
        timeout_seconds: { type: "number", exclusiveMinimum: 0, maximum: 86400, default: 30 },
        cwd: { type: "string" },
      },
    });
    expect(exec?.outputSchema?.required).toEqual(
      expect.arrayContaining(["exit_code", "command_id", "state"]),
    );
  });

  it("advertises ranges, defaults, closed sets, readiness shapes and annotations a client can use", async () => {
    const client = await stdioClient();
    const { tools } = await client.listTools();
    const tool = (name: string) => {
      const found = tools.find((each) => each.name === name);
      if (!found) throw new Error(`no tool ${name}`);
      return found;
    };
    const property = (name: string, field: string) =>
      (tool(name).inputSchema.properties ?? {})[field] as Record<string, unknown>;
    expect(property("vm_create", "vcpu_count")).toMatchObject({
      type: "integer",
      minimum: 1,
      maximum: 8,
      default: 1,
    });
    expect(property("vm_create", "mem_mib")).toMatchObject({ minimum: 128, maximum: 32768 });
    expect(property("vm_create", "environment")).toMatchObject({
      type: "string",
      enum: ["debian:12", "debian:12-base", "debian:12-build"],
      default: "debian:12",
    });
    expect(property("shell_signal", "signal")).toMatchObject({
      enum: ["HUP", "INT", "TERM", "KILL"],
    });
    // An optional field is typed as itself (no nullable anyOf a client cannot fill).
    expect(property("service_logs", "tail_lines")).toEqual({
      type: "integer",
      minimum: 0,
      default: 200,
      description: "Last N lines.",
    });
    const readiness = property("service_start", "readiness");
    expect(readiness.type).toBe("object");
    expect(readiness.oneOf).toEqual(
      [
        ["file", "path"],
        ["tcp", "address"],
        ["http", "url"],
        ["command", "command"],
      ].map(([type, field]) =>
        expect.objectContaining({
          type: "object",
          properties: expect.objectContaining({ type: { type: "string", const: type } }),
          required: ["type", field],
        }),
      ),
    );
    // No integer advertises zod's safe-integer bounds, and no schema a dialect URI.
    const listing = JSON.stringify(tools);
    expect(listing).not.toContain("9007199254740991");
    expect(listing).not.toContain("$schema");
    expect(tool("workspace_status").annotations).toEqual({
      readOnlyHint: true,
      openWorldHint: false,
    });
    expect(tool("workspace_delete").annotations).toEqual({
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(tool("workspace_create").annotations).toEqual({
      destructiveHint: false,
      openWorldHint: false,
    });
    expect(tool("workspace_create").title).toBe("Create workspace");
  });

  it("runs the seeded create -> exec -> snapshot -> reset -> diff flow with progress", async () => {
    const client = await stdioClient();
    const seed = writeTree(path.join(state.base(), "seed"), {
      "app.txt": "version 1\n",
      "lib/util.sh": "echo util\n",
    });
    const progress: string[] = [];
    const created = await callTool(
      client,
      "workspace_create",
      { seed_path: seed, allow_host_compat: true },
      { onprogress: (event) => progress.push(event.message ?? "") },
    );
    expect(created.isError).toBeFalsy();
    expect(progress).toEqual(["booting sandbox", "seeding /workspace", "storing baseline"]);
    const workspace = created.structuredContent ?? {};
    expect(workspace).toMatchObject({
      state: "started",
      execution_mode: "host_compat",
      workspace_seed: { mode: "directory", entry_count: expect.any(Number) },
    });
    expect(textOf(created)).toContain(`workspace ${String(workspace.workspace_id)} started`);
    const id = workspace.workspace_id as string;

    const exec = await callTool(client, "workspace_exec", {
      workspace_id: id,
      command: "echo 'version 2' > app.txt && cat app.txt",
    });
    expect(exec.structuredContent).toMatchObject({
      exit_code: 0,
      stdout: "version 2\n",
      sequence: 1,
    });
    expect(textOf(exec)).toContain("exit_code 0");

    const snapshot = await callTool(client, "snapshot_create", {
      workspace_id: id,
      snapshot_name: "v2",
    });
    expect(snapshot.structuredContent).toMatchObject({
      snapshot: { snapshot_name: "v2", kind: "named" },
    });

    await callTool(client, "workspace_exec", { workspace_id: id, command: "rm -rf lib app.txt" });
    const reset = await callTool(
      client,
      "workspace_reset",
      { workspace_id: id, snapshot: "v2" },
      { onprogress: (event) => progress.push(event.message ?? "") },
    );
    expect(reset.structuredContent).toMatchObject({
      reset_count: 1,
      command_count: 0,
      workspace_reset: { snapshot_name: "v2" },
    });
    expect(progress.slice(3)).toEqual([
      "booting sandbox",
      "restoring /workspace from snapshot 'v2'",
    ]);

    const diff = await callTool(client, "workspace_diff", { workspace_id: id });
    expect(diff.structuredContent).toMatchObject({
      changed: true,
      summary: { total: 1, modified: 1 },
      entries: [{ path: "app.txt", status: "modified", artifact_type: "file" }],
    });
    expect(diff.structuredContent?.patch).toContain("-version 1\n+version 2");
    expect(textOf(diff)).toContain("modified     app.txt");
  });

  it("returns results that match every tool's declared output schema", async () => {
    // The MCP client validates structuredContent against the listed (trimmed, open) output
    // schemas; each result is also checked against the catalogue's full output schema,
    // which is closed (additionalProperties: false): an undeclared or mistyped key fails.
    const client = await stdioClient();
    await client.listTools();
    const called = new Set<string>();
    const ok = async (name: string, args: Record<string, unknown> = {}) => {
      const result = await callTool(client, name, args);
      expect(result.isError, `${name}: ${textOf(result)}`).toBeFalsy();
      expect(textOf(result).length, name).toBeGreaterThan(0);
      expect(fullOutputErrors(name, result.structuredContent), name).toBeUndefined();
      called.add(name);
      return result.structuredContent ?? {};
    };
    await ok("vm_list_environments");
    const vm = await ok("vm_create", { allow_host_compat: true });
    await ok("vm_start", { vm_id: vm.vm_id });
    await ok("vm_status", { vm_id: vm.vm_id });
    await ok("vm_network_info", { vm_id: vm.vm_id });
    await ok("vm_stop", { vm_id: vm.vm_id });
    await ok("vm_delete", { vm_id: vm.vm_id });
    const once = await ok("vm_create", { allow_host_compat: true });
    await ok("vm_start", { vm_id: once.vm_id });
    await ok("vm_exec", { vm_id: once.vm_id, command: "true" });
    await ok("vm_run", { command: "true", allow_host_compat: true });
    await ok("vm_reap_expired");

    const source = writeTree(path.join(state.base(), "sync"), { "notes.md": "# notes\n" });
    const workspace_id = (await ok("workspace_create", { allow_host_compat: true })).workspace_id;
    await ok("workspace_sync_push", { workspace_id, source_path: source, dest: "/workspace/docs" });
    await ok("workspace_exec", { workspace_id, command: "ls docs" });
    const background = { workspace_id, command_id: "" };
    background.command_id = (
      await ok("workspace_exec", { workspace_id, command: "sleep 0.3; echo bg", wait_seconds: 0 })
    ).command_id as string;
    await ok("command_list", { workspace_id });
    await ok("command_status", background);
    await ok("command_read", { ...background, wait_seconds: 5 });
    expect(await ok("command_wait", { ...background, wait_seconds: 10 })).toMatchObject({
      state: "exited",
      stdout: "bg\n",
    });
    const killable = { workspace_id, command_id: "" };
    killable.command_id = (
      await ok("workspace_exec", { workspace_id, command: "sleep 30", wait_seconds: 0 })
    ).command_id as string;
    expect(await ok("command_kill", killable)).toMatchObject({ exit_code: 130, cancelled: true });
    await ok("workspace_status", { workspace_id });
    await ok("workspace_logs", { workspace_id });
    await ok("workspace_network_log", { workspace_id });
    await ok("workspace_diff", { workspace_id });
    await ok("workspace_export", {
      workspace_id,
      path: "docs",
      output_path: path.join(state.base(), "docs-out"),
    });
    await ok("snapshot_create", { workspace_id, snapshot_name: "one" });
    await ok("snapshot_list", { workspace_id });
    await ok("snapshot_delete", { workspace_id, snapshot_name: "one" });

    const shell_id = (await ok("shell_open", { workspace_id })).shell_id;
    await ok("shell_write", { workspace_id, shell_id, input: "echo hi" });
    await ok("shell_read", { workspace_id, shell_id });
    await ok("shell_read", { workspace_id, shell_id, plain: true, wait_for_idle_ms: 50 });
    await ok("shell_resize", { workspace_id, shell_id, cols: 100, rows: 40 });
    await ok("shell_signal", { workspace_id, shell_id, signal: "INT" });
    await ok("shell_close", { workspace_id, shell_id });

    const service = { workspace_id, service_name: "idle" };
    await ok("service_start", {
      ...service,
      command: "touch ready; exec sleep 300",
      readiness: { type: "file", path: "ready" },
    });
    await ok("service_list", { workspace_id });
    await ok("service_status", service);
    await ok("service_logs", service);
    await ok("service_stop", service);
    await ok("workspace_summary", { workspace_id });
    await ok("workspace_file_write", { workspace_id, path: "f/a.txt", text: "a\n" });
    await ok("workspace_file_list", { workspace_id, recursive: true });
    await ok("workspace_file_read", { workspace_id, path: "f/a.txt" });
    await ok("workspace_patch_apply", {
      workspace_id,
      patch: "--- a/f/a.txt\n+++ b/f/a.txt\n@@ -1 +1 @@\n-a\n+b\n",
    });
    // The disk ops only serve a stopped guest: on the host backend they refuse, and their
    // results are checked against these schemas by test/files-qemu.test.ts.
    for (const name of ["workspace_disk_list", "workspace_disk_read", "workspace_disk_export"]) {
      const refused = await callTool(client, name, {
        workspace_id,
        ...(name === "workspace_disk_read" ? { path: "f/a.txt" } : {}),
        ...(name === "workspace_disk_export"
          ? { output_path: path.join(state.base(), "disk.img") }
          : {}),
      });
      expect(textOf(refused), name).toContain("[invalid_state]");
      called.add(name);
    }
    await ok("workspace_update", { workspace_id, name: "schema-check", labels: { a: "b" } });
    await ok("workspace_list", { labels: { a: "b" } });
    await ok("workspace_stop", { workspace_id: "schema-check" });
    await ok("workspace_start", { workspace_id: "schema-check" });
    await ok("workspace_reset", { workspace_id });
    const forked = await ok("workspace_fork", { workspace_id });
    await ok("workspace_delete", {
      workspace_id: (forked.workspaces as Array<{ workspace_id: string }>)[0]?.workspace_id,
    });
    await ok("workspace_delete", { workspace_id });
    expect([...called].sort()).toEqual(operations.map((operation) => operation.name).sort());
  });

  it("answers bad input with isError results that name the code and the next step, and keeps serving", async () => {
    const client = await stdioClient();
    const created = await callTool(client, "workspace_create", { allow_host_compat: true });
    const id = created.structuredContent?.workspace_id as string;
    const outside = path.join(state.base(), "exported");
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [
        "workspace_create",
        { vcpu_count: "two" },
        '[invalid_argument]: workspace_create: vcpu_count: Invalid input: expected number, received string (got "two")',
      ],
      [
        "workspace_create",
        { vcpu_count: 99, allow_host_compat: true },
        "[invalid_argument]: vcpu_count must be between 1 and 8, got 99",
      ],
      [
        "workspace_exec",
        { workspace_id: id },
        "[invalid_argument]: workspace_exec: command: Invalid input: expected string, received undefined",
      ],
      [
        "workspace_exec",
        { workspace_id: id, command: "true", color: "red" },
        '[invalid_argument]: workspace_exec: input: Unrecognized key: "color"',
      ],
      [
        "workspace_status",
        { workspace_id: "0123456789ab" },
        "[not_found]: workspace '0123456789ab' does not exist",
      ],
      [
        "workspace_exec",
        { workspace_id: "../../etc", command: "true" },
        "[not_found]: workspace '../../etc' does not exist",
      ],
      [
        "workspace_export",
        { workspace_id: id, path: "../../etc/passwd", output_path: outside },
        "[invalid_argument]:",
      ],
      [
        "workspace_sync_push",
        { workspace_id: id, source_path: state.base(), dest: "/etc" },
        "[invalid_argument]: workspace destination must stay inside /workspace: '/etc'",
      ],
      [
        "snapshot_delete",
        { workspace_id: id, snapshot_name: "baseline" },
        "[invalid_argument]: cannot delete the baseline snapshot",
      ],
      ["vm_run", { command: "true" }, "[guest_unavailable]:"],
    ];
    for (const [tool, args, expected] of cases) {
      const result = await callTool(client, tool, args);
      expect(result.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(textOf(result)).toContain(`error ${expected}`);
      expect(textOf(result)).toMatch(/\nnext step: \S/);
    }
    expect(textOf(await callTool(client, "vm_run", { command: "true" }))).toContain(
      "allow_host_compat: true",
    );
    expect(fs.existsSync(outside)).toBe(false);
    const unknownTool = await callTool(client, "workspace_teleport", { workspace_id: id });
    expect(unknownTool.isError).toBe(true);
    expect(textOf(unknownTool)).toContain("Tool workspace_teleport not found");
    // Still serving, and the workspace is untouched by all of that.
    const status = await callTool(client, "workspace_status", { workspace_id: id });
    expect(status.isError).toBeFalsy();
    expect(status.structuredContent).toMatchObject({ state: "started", command_count: 0 });
  });

  it("gives one bad value the same message over MCP, from the SDK and from the CLI", async () => {
    const client = await stdioClient();
    const mcp = textOf(await callTool(client, "workspace_create", { ttl_seconds: "soon" }));
    const sdk = new Pyro({ backend: "host", baseDir: state.stateDir() });
    const sdkError = await sdk.createWorkspace({ ttl_seconds: "soon" as unknown as number }).then(
      () => null,
      (error: unknown) => error as { code: string; message: string },
    );
    sdk.close();
    const cli = spawnSync(
      process.execPath,
      [cliPath, "workspace", "create", "debian:12", "--ttl-seconds", "soon", "--json"],
      { encoding: "utf8", env: pyroEnv(state.stateDir()) },
    );
    const cliError = (JSON.parse(cli.stdout) as { error: { code: string; message: string } }).error;
    const expected =
      'workspace_create: ttl_seconds: Invalid input: expected number, received string (got "soon")';
    expect(sdkError).toMatchObject({ code: "invalid_argument", message: expected });
    expect(cliError).toMatchObject({ code: "invalid_argument", message: expected });
    expect(cli.status).toBe(1);
    expect(mcp).toContain(`error [invalid_argument]: ${expected}\n`);
  });
});

describe("pyro mcp serve --http", () => {
  it("serves the same tools over Streamable HTTP on loopback", async () => {
    const { client, server, url } = await connectHttp(state.stateDir(), {
      args: ["--profile", "workspace-full"],
    });
    try {
      expect(url.hostname).toBe("127.0.0.1");
      const { tools } = await client.listTools();
      expect(tools).toHaveLength(operations.length);
      const run = await callTool(client, "vm_run", {
        command: "echo over http",
        allow_host_compat: true,
      });
      expect(run.structuredContent).toMatchObject({ exit_code: 0, stdout: "over http\n" });
      const bad = await callTool(client, "vm_status", { vm_id: "nope" });
      expect(bad.isError).toBe(true);
      expect(textOf(bad)).toContain("error [not_found]: vm 'nope' does not exist");
    } finally {
      await client.close();
      const exited = new Promise<number | null>((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      expect(await exited).toBe(0); // a clean shutdown, not a kill
    }
  });
});
