import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { useTempState } from "./helpers.js";

const state = useTempState();
const distRuntime = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "dist",
  "runtime.js",
);

interface ChildRun {
  exited: () => boolean;
  result: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Runs a script in a separate Node process against the built package. */
function runChild(script: string): ChildRun {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, PYRO_DIST: distRuntime, PYRO_STATE_DIR: state.stateDir() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let done = false;
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const result = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on("close", (code) => {
      done = true;
      resolve({ code, stdout, stderr });
    });
  });
  return { exited: () => done, result };
}

const prelude = `const { Manager } = await import(process.env.PYRO_DIST); const manager = new Manager({ backend: "host" });`;

describe("several processes share one workspace", () => {
  it("one process creates and exits; others exec and read the log", async () => {
    const creator = await runChild(
      `${prelude} const ws = await manager.createWorkspace({ allow_host_compat: true }); await manager.execWorkspace(ws.workspace_id, { command: "echo from-creator > who.txt" }); console.log(ws.workspace_id);`,
    ).result;
    expect(creator.stderr).toBe("");
    expect(creator.code).toBe(0);
    const workspaceId = creator.stdout.trim();

    // The creating process is gone; the sandbox is not.
    const manager = state.manager();
    const read = await manager.execWorkspace(workspaceId, { command: "cat who.txt" });
    expect(read.stdout).toBe("from-creator\n");

    const other = await runChild(
      `${prelude} const r = await manager.execWorkspace(${JSON.stringify(workspaceId)}, { command: "echo second" }); const logs = await manager.logsWorkspace(${JSON.stringify(workspaceId)}); console.log(JSON.stringify({ out: r.stdout, count: logs.count }));`,
    ).result;
    expect(other.code).toBe(0);
    expect(JSON.parse(other.stdout)).toEqual({ out: "second\n", count: 3 });
    const logs = await manager.logsWorkspace(workspaceId);
    expect(logs.entries.map((entry) => entry.sequence)).toEqual([1, 2, 3]);
  });

  it("reads status and runs another exec while a long exec runs in another process", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const marker = "/workspace/started.marker";
    const long = runChild(
      `${prelude} const r = await manager.execWorkspace(${JSON.stringify(workspace_id)}, { command: "touch started.marker; sleep 2; echo long-done" }); console.log(r.stdout.trim());`,
    );
    // Wait until the long command is really running inside the sandbox.
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const probe = await manager.execWorkspace(workspace_id, {
        command: `test -e ${path.basename(marker)} && echo yes || echo no`,
      });
      if (probe.stdout === "yes\n") break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const status = await manager.statusWorkspace(workspace_id);
    const quick = await manager.execWorkspace(workspace_id, { command: "echo quick" });
    expect(long.exited()).toBe(false);
    expect(status.state).toBe("started");
    expect(quick.stdout).toBe("quick\n");
    const finished = await long.result;
    expect(finished.code).toBe(0);
    expect(finished.stdout.trim()).toBe("long-done");
    const logs = await manager.logsWorkspace(workspace_id);
    expect(logs.entries.at(-1)?.stdout).toBe("long-done\n");
    expect(new Set(logs.entries.map((entry) => entry.sequence)).size).toBe(logs.count);
  });

  it("serialises concurrent execs from many processes into one gapless log", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const runs = Array.from(
      { length: 4 },
      (_, index) =>
        runChild(
          `${prelude} for (let i = 0; i < 3; i++) await manager.execWorkspace(${JSON.stringify(workspace_id)}, { command: "echo p${index}-" + i });`,
        ).result,
    );
    const results = await Promise.all(runs);
    expect(results.map((result) => result.code)).toEqual([0, 0, 0, 0]);
    const logs = await manager.logsWorkspace(workspace_id);
    expect(logs.count).toBe(12);
    expect(logs.entries.map((entry) => entry.sequence)).toEqual(
      Array.from({ length: 12 }, (_, index) => index + 1),
    );
    expect((await manager.statusWorkspace(workspace_id)).command_count).toBe(12);
  });
});
