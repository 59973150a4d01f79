import path from "node:path";

import { describe, expect, it } from "vitest";

import * as pyroMcp from "../src/index.js";
import { Pyro, PyroError, operations } from "../src/index.js";
import { createServer } from "../src/mcp/embed.js";
import { useTempState, writeTree } from "./helpers.js";

const state = useTempState();

function client(): Pyro {
  return new Pyro({ backend: "host", baseDir: state.stateDir() });
}

describe("the SDK", () => {
  it("exports exactly its public names", () => {
    expect(Object.keys(pyroMcp).sort()).toEqual([
      "Manager",
      "NotFoundError",
      "Pyro",
      "PyroError",
      "StateError",
      "UnsafeArchiveError",
      "ValidationError",
      "operations",
      "version",
    ]);
  });

  it("has one camelCase method per catalogue operation, named as in the contract", () => {
    const methods = operations.map((operation) => operation.method);
    for (const method of methods)
      expect(typeof Reflect.get(Pyro.prototype, method), method).toBe("function");
    expect(methods).toEqual(
      expect.arrayContaining([
        "createWorkspace",
        "pushWorkspaceSync",
        "execWorkspace",
        "statusWorkspace",
        "logsWorkspace",
        "diffWorkspace",
        "exportWorkspace",
        "createSnapshot",
        "listSnapshots",
        "deleteSnapshot",
        "resetWorkspace",
        "deleteWorkspace",
        "summarizeWorkspace",
        "openShell",
        "readShell",
        "writeShell",
        "signalShell",
        "closeShell",
        "startService",
        "listServices",
        "statusService",
        "logsService",
        "stopService",
        "runInVm",
        "listEnvironments",
        "reapExpired",
      ]),
    );
  });

  it("returns the snake_case objects of the output schemas and reports progress", async () => {
    const pyro = client();
    const seed = writeTree(path.join(state.base(), "seed"), { "a.txt": "a\n" });
    const steps: string[] = [];
    const workspace = await pyro.createWorkspace(
      { seed_path: seed, allow_host_compat: true },
      { onProgress: (progress) => steps.push(progress.message) },
    );
    expect(steps).toEqual(["booting sandbox", "seeding /workspace", "storing baseline"]);
    const createOutput = operations.find(
      (operation) => operation.name === "workspace_create",
    )?.output;
    expect(Object.keys(workspace).sort()).toEqual(Object.keys(createOutput?.shape ?? {}).sort());
    const exec = await pyro.execWorkspace({
      workspace_id: workspace.workspace_id,
      command: "echo b > b.txt",
    });
    expect(exec).toMatchObject({ exit_code: 0, sequence: 1, execution_mode: "host_compat" });
    const diff = await pyro.diffWorkspace({ workspace_id: workspace.workspace_id });
    expect(diff.summary).toMatchObject({ added: 1, total: 1 });
    const run = await pyro.runInVm({ command: "echo one-shot", allow_host_compat: true });
    expect(run.stdout).toBe("one-shot\n");
    pyro.close();
  });

  it("fails with typed PyroErrors carrying the stable code", async () => {
    const pyro = client();
    const missing = await pyro
      .statusWorkspace({ workspace_id: "0123456789ab" })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(PyroError);
    expect(missing).toMatchObject({ code: "not_found" });
    await expect(pyro.runInVm({ command: "true" })).rejects.toMatchObject({
      code: "guest_unavailable",
    });
    pyro.close();
  });

  it("creates an MCP server for embedding, with every operation as a tool (workspace-full)", async () => {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { InMemoryTransport } = await import("@modelcontextprotocol/sdk/inMemory.js");
    const pyro = client();
    const server = createServer(pyro, { profile: "workspace-full" });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const mcp = new Client({ name: "embedder", version: "0.0.0" });
    await mcp.connect(clientSide);
    expect((await mcp.listTools()).tools).toHaveLength(operations.length);
    await mcp.close();
    pyro.close();
  });
});
