/**
 * Our declarations as a consumer compiles them (issues 10 and 16): a strict project with
 * `lib: ["ES2022"]`, no `types` and skipLibCheck off type-checks against the built dist/
 * (no DOM, no @types/node needed), and the literal unions catch the mistakes they are for;
 * a project with the disposable lib compiles `await using` and runs it on this Node.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { STRICT_CONSUMER, consumerProject } from "./consumer-project.js";

const TYPED = `
import {
  Pyro,
  PyroError,
  type PyroResult,
  type Readiness,
  type ShellSignal,
  type Workspace,
} from "pyro-mcp";

const pyro = new Pyro({ backend: "host" });
// @ts-expect-error not a backend
export const wrongBackend = new Pyro({ backend: "kvm" });

export async function mistakes(ws: Workspace): Promise<unknown[]> {
  // @ts-expect-error not an environment
  await pyro.workspaces.create({ environment: "ubuntu:24.04" });
  // @ts-expect-error not a signal name
  const signal: ShellSignal = "SIGINT";
  const shell = await ws.shells.open();
  // @ts-expect-error signals go without the SIG prefix
  await shell.signal("SIGTERM");
  // @ts-expect-error a tcp probe takes an address, not a url
  const probe: Readiness = { type: "tcp", url: "http://x" };
  await ws.services.start("web", "serve", { readiness: { type: "http", url: "http://127.0.0.1:8000/" } });
  const run = await ws.exec("make", { timeoutSeconds: 600, onStdout: (text) => text.length });
  // @ts-expect-error exit_code is null while a command yielded to the background runs
  const code: number = run.exit_code;
  const created: Date = ws.createdAt;
  // @ts-expect-error timestamps in results are Unix seconds, not Dates
  const when: Date = ws.info.created_at;
  // @ts-expect-error workspace_id is a string
  await pyro.execWorkspace({ workspace_id: 1, command: "true" });
  const exec: PyroResult<"workspace_exec"> = await pyro.execWorkspace({ workspace_id: ws.id, command: "true" });
  try {
    await ws.delete();
  } catch (error) {
    // @ts-expect-error not an error code
    if (error instanceof PyroError && error.code === "notfound") return [];
  }
  return [signal, probe, code, created, when, exec];
}
`;

const RUNNABLE = `
import { Pyro } from "pyro-mcp";

const pyro = new Pyro({ backend: "host" });
let id: string;
{
  await using ws = await pyro.workspaces.create({ allow_host_compat: true });
  id = ws.id;
  console.log((await ws.exec("echo hello from $((6 * 7))")).stdout.trim());
}
const after = await pyro.workspaces.get(id).then(
  () => "still there",
  (error: { code?: string }) => error.code,
);
console.log(after);
pyro.close();
`;

describe("a consumer of the SDK's declarations", () => {
  it("compiles with lib ES2022, no types and skipLibCheck off, and the unions catch mistakes", () => {
    const project = consumerProject(
      { "typed.ts": TYPED },
      { ...STRICT_CONSUMER, lib: ["ES2022"], types: [], noEmit: true },
    );
    try {
      const { status, output } = project.compile();
      // An unused @ts-expect-error is an error too: each mistake above must be caught.
      expect(output).toBe("");
      expect(status).toBe(0);
    } finally {
      project.remove();
    }
  }, 60_000);

  it("runs `await using` on this Node: leaving the block deletes the workspace", () => {
    const project = consumerProject(
      { "main.ts": RUNNABLE },
      {
        ...STRICT_CONSUMER,
        lib: ["ES2022", "esnext.disposable"],
        types: ["node"],
        // Declarations are checked above; here what matters is what runs.
        skipLibCheck: true,
        outDir: "out",
      },
    );
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-consumer-state-"));
    try {
      expect(project.compile()).toEqual({ status: 0, output: "" });
      const run = spawnSync(process.execPath, [path.join(project.dir, "out", "main.js")], {
        cwd: project.dir,
        encoding: "utf8",
        env: { ...process.env, PYRO_STATE_DIR: state, PYRO_BACKEND: "host" },
      });
      expect(run.stderr).toBe("");
      expect(run.stdout).toBe("hello from 42\nnot_found\n");
    } finally {
      project.remove();
      fs.rmSync(state, { recursive: true, force: true });
    }
  }, 60_000);
});
