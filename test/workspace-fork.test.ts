/**
 * workspace_fork (issue 11) on the host backend: from a named snapshot and from "now"
 * through the SDK, the CLI and MCP; independence of the forks, their diff and reset against
 * the source's baseline, forked_from; input refused with nothing made; the active limit
 * refused up front; a failure part way and a kill -9 leave no workspace, directory or process.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";

import { hostSandboxPaths } from "../src/backends/host/host-backend.js";
import type { Manager } from "../src/core/manager.js";
import { sandboxMarker } from "../src/process/ownership.js";
import { processIsAlive } from "../src/process/process-group.js";
import { Pyro, PyroError } from "../src/index.js";
import { listDirs, useTempState, waitFor, withEnv, writeTree } from "./helpers.js";
import { callTool, cliPath, connectStdio, pyroEnv } from "./mcp-client.js";

const state = useTempState();
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

function client(options: { maxActiveVms?: number } = {}): Pyro {
  return new Pyro({ backend: "host", baseDir: state.stateDir(), ...options });
}

async function seeded(pyro: Pyro, name?: string) {
  const seed = writeTree(fs.mkdtempSync(path.join(state.base(), "seed-")), {
    "a.txt": "seed\n",
    "src/keep.txt": "keep\n",
  });
  return pyro.workspaces.create({ allow_host_compat: true, seed_path: seed, name });
}

const workspaceDirs = () => listDirs(path.join(state.stateDir(), "workspaces")).sort();

async function refusal(promise: Promise<unknown>): Promise<PyroError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PyroError);
  return error as PyroError;
}

/** Live processes that carry the sandbox marker of a workspace directory. */
function sandboxProcesses(manager: Manager, workspaceId: string): number[] {
  const { stateDir } = hostSandboxPaths(manager.context.layout.workspaceDir(workspaceId));
  const needle = Buffer.from(`${sandboxMarker(stateDir)}\0`);
  return fs.readdirSync("/proc").flatMap((name) => {
    if (!/^\d+$/.test(name)) return [];
    try {
      const found = fs.readFileSync(`/proc/${name}/environ`).includes(needle);
      return found && processIsAlive(Number(name)) ? [Number(name)] : [];
    } catch {
      return [];
    }
  });
}

describe("workspace_fork (host backend)", () => {
  it("forks /workspace as it is now into independent workspaces with the source's baseline (SDK)", async () => {
    const pyro = client();
    const source = await seeded(pyro, "origin");
    await source.exec("echo edited > a.txt && echo new > b.txt");

    const result = await pyro.forkWorkspace({
      workspace_id: "origin",
      count: 2,
      name: "try",
      labels: { branch: "x" },
    });
    expect(result).toMatchObject({ workspace_id: source.id, snapshot_name: null, count: 2 });
    const [one, two] = result.workspaces;
    if (!one || !two) throw new Error("two forks expected");
    expect(new Set([source.id, one.workspace_id, two.workspace_id]).size).toBe(3);
    expect([one.name, two.name]).toEqual(["try-1", "try-2"]);
    for (const fork of result.workspaces) {
      expect(fork).toMatchObject({
        state: "started",
        forked_from: { workspace_id: source.id, snapshot_name: null },
        labels: { branch: "x" },
        command_count: 0,
        reset_count: 0,
        ttl_seconds: source.info.ttl_seconds,
      });
    }
    // A named source keeps its name; no snapshot was added to it.
    expect((await pyro.listSnapshots({ workspace_id: source.id })).count).toBe(1);

    // Each fork reads the point; writes cross neither to the source nor to the other fork.
    const read = "cat a.txt b.txt src/keep.txt";
    expect(
      (await pyro.execWorkspace({ workspace_id: one.workspace_id, command: read })).stdout,
    ).toBe("edited\nnew\nkeep\n");
    await pyro.execWorkspace({ workspace_id: one.workspace_id, command: "echo one > a.txt" });
    expect(
      (await pyro.execWorkspace({ workspace_id: two.workspace_id, command: read })).stdout,
    ).toBe("edited\nnew\nkeep\n");
    expect((await source.exec("cat a.txt")).stdout).toBe("edited\n");

    // Diff against the source's baseline (the original seed); log and status of the fork.
    const diff = await pyro.diffWorkspace({ workspace_id: one.workspace_id });
    expect(diff.summary).toMatchObject({ added: 1, modified: 1, deleted: 0 });
    expect(diff.patch).toContain("+one");
    // The fork's log holds its own command only, not the source's.
    const log = await pyro.logsWorkspace({ workspace_id: two.workspace_id });
    expect(log.entries.map((entry) => entry.command)).toEqual([read]);
    const status = await pyro.statusWorkspace({ workspace_id: "try-2" });
    expect(status.forked_from).toEqual({ workspace_id: source.id, snapshot_name: null });
    expect((await source.refresh()).forked_from).toBeNull();

    // Reset to baseline gives the source's seed; deleting the source leaves the fork whole.
    await source.delete();
    await pyro.resetWorkspace({ workspace_id: one.workspace_id });
    expect(
      (await pyro.execWorkspace({ workspace_id: one.workspace_id, command: "ls; cat a.txt" }))
        .stdout,
    ).toBe("a.txt\nsrc\nseed\n");
    expect((await pyro.diffWorkspace({ workspace_id: one.workspace_id })).changed).toBe(false);
    pyro.close();
  });

  it("gives each fork a copy of the source's secrets and its hard lifetime", async () => {
    const pyro = client();
    const source = await pyro.workspaces.create({
      allow_host_compat: true,
      secrets: [{ name: "API_TOKEN", value: "s3cret-value-1234" }],
      max_lifetime_seconds: 3600,
    });
    const [fork] = await source.fork();
    if (!fork) throw new Error("one fork expected");
    expect(fork.info.secrets).toEqual([{ name: "API_TOKEN", source_kind: "literal" }]);
    expect((fork.info.hard_expires_at ?? 0) - fork.info.created_at).toBe(3600);
    // The value works (and is redacted) in the fork, and outlives the source.
    await source.delete();
    const run = await fork.exec('echo "[$T]"', { secretEnv: { T: "API_TOKEN" } });
    expect(run.stdout).toBe("[[REDACTED:API_TOKEN]]\n");
    pyro.close();
  });

  it("forks a named snapshot of a stopped workspace without starting it (handle API)", async () => {
    const pyro = client();
    const source = await seeded(pyro);
    await source.exec("echo green > a.txt");
    await source.snapshot("green");
    await source.exec("echo later > a.txt");
    await source.stop();

    const forks = await source.fork({ snapshot: "green" });
    expect(forks).toHaveLength(1);
    const [fork] = forks;
    if (!fork) throw new Error("one fork expected");
    expect(fork.info.forked_from).toEqual({ workspace_id: source.id, snapshot_name: "green" });
    expect((await fork.exec("cat a.txt")).stdout).toBe("green\n");
    // The fork has no named snapshots; the source is still stopped, its snapshot kept.
    expect((await fork.snapshots()).map((each) => each.snapshot_name)).toEqual(["baseline"]);
    expect((await source.refresh()).state).toBe("stopped");
    expect((await source.snapshots()).map((each) => each.snapshot_name)).toEqual([
      "baseline",
      "green",
    ]);

    // "Now" needs the source started, and says so.
    const stopped = await refusal(source.fork());
    expect(stopped.code).toBe("invalid_state");
    expect(stopped.message).toMatch(
      /is 'stopped': forking \/workspace as it is now needs it started/,
    );
    pyro.close();
  });

  it("forks through the CLI (--id-only, --json) and MCP", async () => {
    const pyro = client();
    const source = await seeded(pyro);
    await source.snapshot("s1");
    const env = pyroEnv(state.stateDir());
    const cli = spawnSync(
      process.execPath,
      [cliPath, "workspace", "fork", source.id, "--snapshot", "s1", "--count", "2", "--id-only"],
      { env, encoding: "utf8" },
    );
    expect(cli.stderr).toBe("");
    const ids = cli.stdout.trim().split("\n");
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      expect((await pyro.statusWorkspace({ workspace_id: id })).forked_from).toEqual({
        workspace_id: source.id,
        snapshot_name: "s1",
      });
    }
    const json = spawnSync(
      process.execPath,
      [cliPath, "workspace", "fork", source.id, "--count", "9", "--json"],
      { env, encoding: "utf8" },
    );
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { code: "invalid_argument", message: "count must be between 1 and 8, got 9" },
    });
    const help = spawnSync(process.execPath, [cliPath, "workspace", "fork", "--help"], {
      env,
      encoding: "utf8",
    });
    expect(help.stdout).toContain("pyro workspace fork WORKSPACE_ID --count 3 --name try");

    const { client: mcp } = await connectStdio(state.stateDir(), {
      args: ["--profile", "workspace-full"],
    });
    clients.push(mcp);
    const called = await callTool(mcp, "workspace_fork", { workspace_id: source.id });
    expect(called.isError).toBeFalsy();
    const forked = called.structuredContent as { workspaces: Array<{ workspace_id: string }> };
    expect(forked).toMatchObject({ workspace_id: source.id, snapshot_name: null, count: 1 });
    const id = forked.workspaces[0]?.workspace_id ?? "";
    expect((await pyro.execWorkspace({ workspace_id: id, command: "cat a.txt" })).stdout).toBe(
      "seed\n",
    );
    pyro.close();
  });

  it("refuses bad input naming the field, rule and value, and makes nothing", async () => {
    const pyro = client();
    const source = await seeded(pyro, "dup");
    const before = workspaceDirs();
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ snapshot: "nope" }, "not_found", /snapshot 'nope' does not exist in workspace/],
      [{ count: 0 }, "invalid_argument", /^count must be between 1 and 8, got 0$/],
      [{ count: 9 }, "invalid_argument", /^count must be between 1 and 8, got 9$/],
      [{ count: 1.5 }, "invalid_argument", /count/],
      [{ name: "bad name" }, "invalid_argument", /^name must be 1-64 letters/],
      [{ name: "dup" }, "already_exists", /workspace name 'dup' is taken/],
      [
        { ttl_seconds: 600 },
        "invalid_argument",
        /^workspace_fork: input: Unrecognized key: "ttl_seconds"/,
      ],
      [{ labels: { "": "x" } }, "invalid_argument", /labels: a label key must be/],
    ];
    for (const [input, code, message] of cases) {
      const error = await refusal(pyro.forkWorkspace({ workspace_id: source.id, ...input }));
      expect([error.code, error.message], JSON.stringify(input)).toEqual([
        code,
        expect.stringMatching(message),
      ]);
    }
    const missing = await refusal(pyro.forkWorkspace({ workspace_id: "no-such-workspace" }));
    expect([missing.code, missing.message]).toEqual([
      "not_found",
      "workspace 'no-such-workspace' does not exist",
    ]);
    // Two workspaces sharing a name (an older pyro, a hand edit): ambiguous, never guessed.
    const other = await seeded(pyro);
    const file = path.join(state.stateDir(), "workspaces", other.id, "workspace.json");
    fs.writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), name: "dup" }),
    );
    const ambiguous = await refusal(pyro.forkWorkspace({ workspace_id: "dup" }));
    expect(ambiguous.code).toBe("invalid_argument");
    expect(ambiguous.message).toMatch(/workspace name 'dup' is ambiguous/);
    expect(workspaceDirs()).toEqual([...before, other.id].sort());
    pyro.close();
  });

  it("refuses a fork that would pass the active limit up front, naming it", async () => {
    const pyro = client({ maxActiveVms: 3 });
    const source = await seeded(pyro);
    const before = workspaceDirs();
    const error = await refusal(pyro.forkWorkspace({ workspace_id: source.id, count: 3 }));
    expect(error.code).toBe("limit_exceeded");
    expect(error.message).toBe(
      "max active VMs (3, counting one-shot VMs and workspaces) leaves 2 free, and 3 are needed; delete or stop 1 first, or ask for fewer",
    );
    expect(error.details).toMatchObject({ limit: "max_active_vms", requested: 3, active: 1 });
    expect(workspaceDirs()).toEqual(before);
    expect((await pyro.forkWorkspace({ workspace_id: source.id, count: 2 })).count).toBe(2);
    pyro.close();
  });

  it("removes every fork made so far when one step fails part way", async () => {
    const pyro = client();
    const source = await seeded(pyro);
    await source.exec("head -c 200000 /dev/urandom > big.bin");
    const before = workspaceDirs();
    // The point of "now" is bounded as a snapshot is: it fails after the forks have booted.
    const error = await withEnv({ PYRO_MAX_SNAPSHOT_BYTES: "100000" }, () =>
      refusal(pyro.forkWorkspace({ workspace_id: source.id, count: 3 })),
    );
    expect(error.code).toBe("limit_exceeded");
    expect(error.message).toMatch(/cannot be forked as it is now/);
    expect(workspaceDirs()).toEqual(before);
    expect((await pyro.listWorkspaces({})).count).toBe(1);
    pyro.close();
  });

  it("a fork killed with SIGKILL mid-way leaves no listed workspace, directory or process", async () => {
    const pyro = client();
    const source = await seeded(pyro);
    const { Manager } = await import("../src/core/manager.js");
    const manager = new Manager({ baseDir: state.stateDir(), backend: "host" });
    const slow = path.join(state.base(), "slow-agent.mjs");
    const agent = path.resolve(path.dirname(cliPath), "..", "agent", "pyro-agent.mjs");
    fs.writeFileSync(
      slow,
      `await new Promise((resolve) => setTimeout(resolve, 1500));\nawait import(${JSON.stringify(pathToFileURL(agent).href)});\n`,
    );
    const child: ChildProcess = spawn(
      process.execPath,
      [cliPath, "workspace", "fork", source.id, "--count", "2"],
      { stdio: "ignore", env: { ...pyroEnv(state.stateDir()), PYRO_AGENT_PATH: slow } },
    );
    const forks = () => workspaceDirs().filter((id) => id !== source.id);
    // Both forks' agents are starting: the fork is mid-way.
    await waitFor(
      () => forks().length === 2 && forks().every((id) => sandboxProcesses(manager, id).length > 0),
      10_000,
    );
    const leftovers = forks();
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;

    // Listing sweeps what the dead fork left: no workspace, directory or process of it.
    const listed = await pyro.listWorkspaces({});
    expect(listed.workspaces.map((each) => each.workspace_id)).toEqual([source.id]);
    expect(forks()).toEqual([]);
    for (const id of leftovers) expect(sandboxProcesses(manager, id)).toEqual([]);
    manager.close();
    pyro.close();
  });
});
