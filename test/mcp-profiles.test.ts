import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";

import { createServer } from "../src/mcp/embed.js";
import {
  PROFILE_NAMES,
  profileOmissions,
  profileToolNames,
  profileTools,
} from "../src/mcp/profiles.js";
import { findOperation } from "../src/operations/catalog.js";
import { operations } from "../src/operations/index.js";
import { Pyro } from "../src/sdk/pyro.js";
import { useTempState } from "./helpers.js";
import { callTool, cliPath, connectStdio, pyroEnv, textOf } from "./mcp-client.js";

const state = useTempState();
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function serve(...args: string[]): Promise<Client> {
  const { client } = await connectStdio(state.stateDir(), { args });
  clients.push(client);
  return client;
}

const CORE_PRESENT = profileTools("workspace-core").map((tool) => tool.operation.name);

describe("MCP tool profiles", () => {
  it("names only catalogue operations and fields", () => {
    for (const profile of PROFILE_NAMES) {
      for (const name of profileToolNames(profile)) {
        expect(findOperation(name), `${profile}: ${name}`).toBeDefined();
      }
      for (const omission of profileOmissions(profile)) {
        const [name = "", field = ""] = omission.split(".");
        expect(findOperation(name)?.input.shape[field], `${profile}: ${omission}`).toBeDefined();
      }
    }
    expect(profileToolNames("workspace-full")).toEqual(operations.map((op) => op.name));
  });

  it("serves workspace-core by default, with narrowed schemas that refuse hidden fields", async () => {
    const client = await serve();
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(CORE_PRESENT);
    expect(CORE_PRESENT).toEqual(
      expect.arrayContaining([
        "workspace_create",
        "workspace_exec",
        "command_wait",
        "workspace_diff",
        "workspace_summary",
      ]),
    );
    for (const hidden of ["snapshot_create", "shell_open", "service_start", "vm_run"]) {
      expect(CORE_PRESENT).not.toContain(hidden);
    }
    const create = tools.find((tool) => tool.name === "workspace_create");
    expect(Object.keys(create?.inputSchema.properties ?? {})).not.toContain("network");
    expect(Object.keys(create?.inputSchema.properties ?? {})).toContain("seed_path");
    const reset = tools.find((tool) => tool.name === "workspace_reset");
    expect(Object.keys(reset?.inputSchema.properties ?? {})).toEqual(["workspace_id"]);

    const refused = await callTool(client, "workspace_create", {
      allow_host_compat: true,
      network: true,
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(
      "error [invalid_argument]: workspace_create: network: not offered by the MCP profile workspace-core (serve with --profile workspace-full to use it)",
    );
    // Nothing was created by the refused call.
    const workspaces = path.join(state.stateDir(), "workspaces");
    expect(fs.existsSync(workspaces) ? fs.readdirSync(workspaces) : []).toEqual([]);
    const hiddenTool = await callTool(client, "snapshot_create", {});
    expect(textOf(hiddenTool)).toContain("Tool snapshot_create not found");
  });

  it("serves vm_run alone with --profile vm-run, and every operation with workspace-full", async () => {
    const vmRun = await serve("--profile", "vm-run");
    expect((await vmRun.listTools()).tools.map((tool) => tool.name)).toEqual(["vm_run"]);
    const ran = await callTool(vmRun, "vm_run", { command: "echo hi", allow_host_compat: true });
    expect(ran.structuredContent).toMatchObject({ exit_code: 0, stdout: "hi\n" });
    const full = await serve("--profile", "workspace-full");
    expect((await full.listTools()).tools).toHaveLength(operations.length);
  });

  it("refuses an unknown profile from the CLI and from createServer", () => {
    const cli = spawnSync(process.execPath, [cliPath, "mcp", "serve", "--profile", "everything"], {
      encoding: "utf8",
      env: pyroEnv(state.stateDir()),
      input: "",
    });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain(
      'error [invalid_argument]: profile must be one of vm-run, workspace-core, workspace-full; got "everything"',
    );
    const pyro = new Pyro({ backend: "host", baseDir: state.stateDir() });
    expect(() => createServer(pyro, { profile: "all" as "vm-run" })).toThrow(
      /profile must be one of vm-run, workspace-core, workspace-full; got "all"/,
    );
    pyro.close();
  });
});
