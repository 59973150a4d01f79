/**
 * The real MCP Inspector CLI (devDependency @modelcontextprotocol/inspector-cli) against
 * `pyro mcp serve`, with arguments typed the way a user types them: `--tool-arg key=value`.
 * The Inspector turns each value into JSON by the listed input schema's top-level `type`
 * (a number for integer/number, JSON.parse for object/array, a string otherwise), so these
 * calls succeed only if every such field advertises a plain type: an integer range, not a
 * nullable anyOf, and the readiness oneOf with `type: "object"` beside it.
 */
import { execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const run = promisify(execFile);
const state = useTempState();
const inspector = path.resolve(
  cliPath,
  "..",
  "..",
  "..",
  "node_modules",
  ".bin",
  "mcp-inspector-cli",
);

interface ToolResult {
  isError?: boolean;
  content: Array<{ text?: string }>;
  structuredContent?: Record<string, unknown>;
}

/** One `tools/call` through the Inspector, which starts its own `pyro mcp serve`. */
async function inspect(tool: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    inspector,
    [
      "--cli",
      process.execPath,
      cliPath,
      "mcp",
      "serve",
      "--profile",
      "workspace-full",
      "--method",
      "tools/call",
      "--tool-name",
      tool,
      "--tool-arg",
      ...args,
    ],
    { env: pyroEnv(state.stateDir()), timeout: 120_000 },
  );
  const result = JSON.parse(stdout) as ToolResult;
  expect(result.isError, `${tool}: ${result.content[0]?.text ?? ""}`).toBeFalsy();
  return result.structuredContent ?? {};
}

/** A TCP port nothing listens on now (host_compat services share the host's network). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the MCP Inspector CLI against pyro mcp serve", () => {
  it("fills vm_create, service_start with each readiness kind and service_logs from --tool-arg", async () => {
    // Each call starts its own server: independent ones run side by side.
    const [vm, workspace] = await Promise.all([
      inspect("vm_create", ["vcpu_count=2", "allow_host_compat=true"]),
      inspect("workspace_create", ["allow_host_compat=true"]),
    ]);
    expect(vm).toMatchObject({ state: "created", vcpu_count: 2 });
    const id = `workspace_id=${String(workspace.workspace_id)}`;
    const [tcpPort, httpPort] = [await freePort(), await freePort()];
    const listen = (port: number, http: boolean) =>
      `exec node -e "require('${http ? "http" : "net"}').createServer((a, b) => b && b.end('ok')).listen(${port}, '127.0.0.1')"`;
    const services: Array<[string, string, string]> = [
      ["file", "touch ready; exec sleep 300", '{"type":"file","path":"ready"}'],
      ["tcp", listen(tcpPort, false), `{"type":"tcp","address":"127.0.0.1:${tcpPort}"}`],
      ["http", listen(httpPort, true), `{"type":"http","url":"http://127.0.0.1:${httpPort}/"}`],
      ["command", "echo started; exec sleep 300", '{"type":"command","command":"true"}'],
    ];
    const started = await Promise.all(
      services.map(([name, command, readiness]) =>
        inspect("service_start", [
          id,
          `service_name=${name}`,
          `command=${command}`,
          `readiness=${readiness}`,
          "ready_timeout_seconds=20",
        ]),
      ),
    );
    for (const [index, service] of started.entries()) {
      expect(service, services[index]![0]).toMatchObject({
        state: "running",
        readiness: { type: services[index]![0] },
      });
    }

    const logs = await inspect("service_logs", [id, "service_name=command", "tail_lines=1"]);
    expect(logs).toMatchObject({ tail_lines: 1, stdout: "started\n" });
  }, 240_000);
});
