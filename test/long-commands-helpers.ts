/**
 * Setup the long-command tests share on both backends (test/long-commands.test.ts,
 * test/long-commands-qemu.test.ts): `pyro workspace exec` run as a real CLI process, either
 * followed while it streams (to interrupt it) or left to yield a background command.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";

import { cliPath, pyroEnv } from "./mcp-client.js";

/** Where the CLI finds its workspaces, and which backend it uses. */
export interface CliTarget {
  stateDir: string;
  backend: "host" | "qemu";
}

function cliEnv(target: CliTarget): Record<string, string> {
  return { ...pyroEnv(target.stateDir), PYRO_BACKEND: target.backend };
}

export interface RunningCliExec {
  child: ChildProcess;
  /** What the CLI printed so far (nothing with `discard`). */
  output: { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

/**
 * `pyro workspace exec ID --timeout-seconds 120 -- COMMAND`, its output collected as it
 * streams, or sent to /dev/null with `discard` (a flood the test must not hold).
 */
export function spawnCliExec(
  target: CliTarget,
  id: string,
  command: string,
  options: { discard?: boolean } = {},
): RunningCliExec {
  const child = spawn(
    process.execPath,
    [cliPath, "workspace", "exec", id, "--timeout-seconds", "120", "--", command],
    {
      env: cliEnv(target),
      stdio: ["ignore", options.discard ? "ignore" : "pipe", options.discard ? "ignore" : "pipe"],
    },
  );
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, output, exited };
}

/**
 * `pyro workspace exec ID --wait-seconds N --json -- COMMAND`: the CLI returns after N seconds
 * with the command still running in the sandbox; its exit status and the JSON it printed.
 */
export function cliExecYielding(
  target: CliTarget,
  id: string,
  command: string,
  waitSeconds: number,
): { status: number | null; result: Record<string, unknown> } {
  const started = spawnSync(
    process.execPath,
    [
      cliPath,
      "workspace",
      "exec",
      id,
      "--wait-seconds",
      String(waitSeconds),
      "--json",
      "--",
      command,
    ],
    { encoding: "utf8", env: cliEnv(target) },
  );
  return { status: started.status, result: JSON.parse(started.stdout) as Record<string, unknown> };
}
