/**
 * Long commands (issue 13) on the host backend, through all three front ends: cancellation
 * (an aborted SDK call, Ctrl-C of the CLI, an MCP cancellation, a closed MCP client) kills
 * the command's whole process group and logs it as cancelled; output streams while the
 * command runs; a command yielded to the background is followed from another process and
 * lands in the log exactly once; stdin and env reach the command.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";

import { afterEach, describe, expect, it } from "vitest";

import { PyroError } from "../src/errors.js";
import { AgentClient } from "../src/protocol/client.js";
import { Pyro } from "../src/sdk/pyro.js";
import { runtimeOf } from "../src/core/client-runtime.js";
import { useTempState, waitFor } from "./helpers.js";
import { type CliTarget, cliExecYielding, spawnCliExec } from "./long-commands-helpers.js";
import { cliPath, connectStdio, pyroEnv } from "./mcp-client.js";

const state = useTempState();
const target = (): CliTarget => ({ stateDir: state.stateDir(), backend: "host" });

function sdk(): Pyro {
  const pyro = new Pyro({ baseDir: state.stateDir(), backend: "host" });
  onCleanup.push(() => pyro.close());
  return pyro;
}
const onCleanup: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of onCleanup.splice(0)) cleanup();
});

async function workspace(pyro: Pyro): Promise<string> {
  const created = await pyro.createWorkspace({ allow_host_compat: true });
  return created.workspace_id;
}

/** Pids whose command line contains `marker` (a unique argument of the test's command). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (cmdline.includes(marker) && !cmdline.includes("vitest")) found.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/** A sleep with a unique duration, so its processes can be found (and only they). */
function uniqueSleep(): { command: string; marker: string } {
  const marker = `${500 + Math.floor(Math.random() * 400)}.${Date.now() % 100000}`;
  // A pipeline with a background job: cancelling must take the whole group.
  return { command: `sleep ${marker} & sleep ${marker} | cat; echo never`, marker };
}

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    env: pyroEnv(state.stateDir()),
    input,
  });
}

async function lastLogEntry(pyro: Pyro, id: string) {
  const logs = await pyro.logsWorkspace({ workspace_id: id });
  return logs.entries.at(-1);
}

describe("cancellation", () => {
  it("an aborted SDK call kills the command's whole group within 2 s and logs it as cancelled", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const { command, marker } = uniqueSleep();
    const controller = new AbortController();
    const call = pyro.execWorkspace(
      { workspace_id: id, command, timeout_seconds: 120 },
      { signal: controller.signal },
    );
    await waitFor(() => processesWith(marker).length >= 2);
    controller.abort();
    const error = await call.then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).code).toBe("cancelled");
    await waitFor(() => processesWith(marker).length === 0, 2_000);
    const entry = await lastLogEntry(pyro, id);
    expect(entry).toMatchObject({ command, exit_code: 130, cancelled: true });
  });

  it("Ctrl-C of `pyro workspace exec` cancels the command in the sandbox and exits 130", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const { marker } = uniqueSleep();
    const { child, output, exited } = spawnCliExec(target(), id, `echo started; sleep ${marker}`);
    // Streamed: the first line is printed while the command still runs.
    await waitFor(
      () => output.stdout.includes("started") && processesWith(marker).length > 0,
      10_000,
    );
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(output.stderr).toContain("error [cancelled]");
    await waitFor(() => processesWith(marker).length === 0, 2_000);
    expect(await lastLogEntry(pyro, id)).toMatchObject({ exit_code: 130, cancelled: true });
  });

  it("a reader that goes away (`| head -2`) stops the command instead of crashing pyro", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const piped = spawnSync(
      "bash",
      [
        "-c",
        `"${process.execPath}" "${cliPath}" workspace exec ${id} --timeout-seconds 60 -- 'while true; do echo y; done' | head -2; echo "status \${PIPESTATUS[0]}"`,
      ],
      { encoding: "utf8", env: pyroEnv(state.stateDir()), timeout: 30_000 },
    );
    expect(piped.stdout).toBe("y\ny\nstatus 130\n");
    expect(piped.stderr).not.toContain("EPIPE");
    expect(await lastLogEntry(pyro, id)).toMatchObject({ exit_code: 130, cancelled: true });
  });

  it("an MCP notifications/cancelled and a closed MCP client each kill the command and log it", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const { client } = await connectStdio(state.stateDir());
    const first = uniqueSleep();
    const controller = new AbortController();
    const call = client.callTool(
      {
        name: "workspace_exec",
        arguments: { workspace_id: id, command: first.command, timeout_seconds: 120 },
      },
      undefined,
      { signal: controller.signal },
    );
    await waitFor(() => processesWith(first.marker).length >= 2);
    controller.abort(); // the MCP SDK sends notifications/cancelled
    await expect(call).rejects.toThrow();
    await waitFor(() => processesWith(first.marker).length === 0, 2_000);
    await waitFor(async () => (await lastLogEntry(pyro, id))?.command === first.command);
    expect(await lastLogEntry(pyro, id)).toMatchObject({ exit_code: 130, cancelled: true });

    const second = uniqueSleep();
    void client
      .callTool({
        name: "workspace_exec",
        arguments: { workspace_id: id, command: second.command, timeout_seconds: 120 },
      })
      .catch(() => undefined);
    await waitFor(() => processesWith(second.marker).length >= 2);
    await client.close(); // the server's stdin ends: its calls are cancelled
    await waitFor(() => processesWith(second.marker).length === 0, 2_000);
    await waitFor(async () => (await lastLogEntry(pyro, id))?.command === second.command);
    expect(await lastLogEntry(pyro, id)).toMatchObject({ exit_code: 130, cancelled: true });
  });
});

describe("cancellation of one-shot VMs", () => {
  it("an aborted runInVm kills its command within 2 s and deletes the VM", async () => {
    const pyro = sdk();
    const { command, marker } = uniqueSleep();
    const controller = new AbortController();
    const call = pyro.runInVm(
      { command, allow_host_compat: true, timeout_seconds: 120 },
      { signal: controller.signal },
    );
    await waitFor(() => processesWith(marker).length >= 2, 10_000);
    controller.abort();
    const abortedAt = Date.now();
    const failure = await call.then(
      () => null,
      (error: unknown) => error,
    );
    expect((failure as PyroError).code).toBe("cancelled");
    // The agent killed it and answered: the call did not sit out the command or a deadline.
    expect(Date.now() - abortedAt).toBeLessThan(5_000);
    await waitFor(() => processesWith(marker).length === 0, 2_000);
    expect(fs.readdirSync(runtimeOf(pyro).context.layout.vmsDir)).toEqual([]);
  });
});

describe("streaming", () => {
  it("hands the SDK's onStdout/onStderr each chunk while the command runs; the result is unchanged", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const seen: Array<{ stream: string; text: string; at: number }> = [];
    const result = await pyro.execWorkspace(
      { workspace_id: id, command: "echo one; echo err >&2; sleep 1; echo two" },
      {
        onStdout: (text) => seen.push({ stream: "stdout", text, at: Date.now() }),
        onStderr: (text) => seen.push({ stream: "stderr", text, at: Date.now() }),
      },
    );
    const finished = Date.now();
    expect(result).toMatchObject({ exit_code: 0, stdout: "one\ntwo\n", stderr: "err\n" });
    expect(result.state).toBe("exited");
    const first = seen.find((each) => each.text.includes("one"));
    expect(first && finished - first.at).toBeGreaterThan(700); // seen before the sleep ended
    expect(seen.filter((each) => each.stream === "stderr").map((each) => each.text)).toEqual([
      "err\n",
    ]);
  });

  it("an MCP exec longer than the client's request timeout succeeds when the timeout resets on progress", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const { client } = await connectStdio(state.stateDir());
    const messages: string[] = [];
    // The 90 s command and 30 s client timeout, scaled down by 7.5: 12 s and 4 s.
    const result = await client.callTool(
      {
        name: "workspace_exec",
        arguments: {
          workspace_id: id,
          command: "for i in $(seq 12); do echo line $i; sleep 1; done",
          timeout_seconds: 60,
          wait_seconds: 60,
        },
      },
      undefined,
      {
        timeout: 4_000,
        resetTimeoutOnProgress: true,
        onprogress: (progress) => messages.push(progress.message ?? ""),
      },
    );
    await client.close();
    const structured = result.structuredContent as Record<string, unknown>;
    expect(structured).toMatchObject({ exit_code: 0, state: "exited" });
    expect(structured.stdout).toContain("line 12");
    expect(messages.length).toBeGreaterThanOrEqual(5);
    expect(messages.some((message) => /line \d+/.test(message))).toBe(true);
  }, 30_000);
});

describe("background commands", () => {
  it("yields after wait_seconds; another process reads and waits on it and it lands in the log once", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const started = cliExecYielding(target(), id, "echo early; sleep 2; echo late; exit 7", 0.5);
    expect(started.status).toBe(0);
    const running = started.result;
    expect(running).toMatchObject({ state: "running", exit_code: null, sequence: null });
    expect(running.stdout).toBe("early\n");
    const commandId = running.command_id as string;
    // The starting process has exited; this one follows the command.
    const read = await pyro.readCommand({ workspace_id: id, command_id: commandId });
    expect(read.stdout).toBe("early\n");
    const next = await pyro.readCommand({
      workspace_id: id,
      command_id: commandId,
      stdout_cursor: read.next_stdout_cursor,
      wait_seconds: 10,
    });
    expect(next.stdout).toBe("late\n");
    const waited = cli([
      "workspace",
      "command",
      "wait",
      id,
      commandId,
      "--wait-seconds",
      "10",
      "--json",
    ]);
    expect(waited.status).toBe(7);
    const done = JSON.parse(waited.stdout) as Record<string, unknown>;
    expect(done).toMatchObject({ state: "exited", exit_code: 7, stdout: "early\nlate\n" });
    expect(done.sequence).toBe(1);
    // Status, list and another wait do not log it again.
    await pyro.statusWorkspace({ workspace_id: id });
    await pyro.listCommands({ workspace_id: id });
    expect((await pyro.waitCommand({ workspace_id: id, command_id: commandId })).sequence).toBe(1);
    const logs = await pyro.logsWorkspace({ workspace_id: id });
    expect(logs.entries.map((entry) => entry.command_id)).toEqual([commandId]);
    expect(logs.entries[0]).toMatchObject({ exit_code: 7, stdout: "early\nlate\n" });
    const status = await pyro.statusCommand({ workspace_id: id, command_id: commandId });
    expect(status).toMatchObject({ state: "exited", exit_code: 7, sequence: 1 });
  });

  it("a command that finished unobserved is logged by the next call on the workspace", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const running = await pyro.execWorkspace({
      workspace_id: id,
      command: "sleep 0.3; echo bg",
      wait_seconds: 0,
    });
    expect(running.state).toBe("running");
    // Nobody waits on it; status calls alone log it once it has ended.
    let status = await pyro.statusWorkspace({ workspace_id: id });
    await waitFor(async () => {
      status = await pyro.statusWorkspace({ workspace_id: id });
      return status.command_count === 1;
    }, 10_000);
    expect(status.last_command).toMatchObject({ command: "sleep 0.3; echo bg", exit_code: 0 });
  });

  it("a claim whose claimer died before logging is logged exactly once by the next caller", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const running = await pyro.execWorkspace({
      workspace_id: id,
      command: "echo claimed",
      wait_seconds: 0,
    });
    const commandId = running.command_id as string;
    const record = JSON.parse(
      fs.readFileSync(runtimeOf(pyro).context.layout.workspaceRecord(id), "utf8"),
    ) as { runtime: { socket_path: string } };
    const { client } = await AgentClient.connect(record.runtime.socket_path);
    await waitFor(async () => {
      const listed = await client.call("command.list", {});
      return listed.commands.some(
        (each) => each.command_id === commandId && each.state === "exited",
      );
    });
    // A process that claimed it and died before appending and acknowledging.
    expect((await client.call("command.claim", { command_id: commandId })).claim_state).toBe(
      "fresh",
    );
    client.close();
    const waited = await pyro.waitCommand({ workspace_id: id, command_id: commandId });
    expect(waited).toMatchObject({ exit_code: 0, stdout: "claimed\n", sequence: 1 });
    await pyro.statusWorkspace({ workspace_id: id });
    const logs = await pyro.logsWorkspace({ workspace_id: id });
    expect(logs.entries.map((entry) => entry.command_id)).toEqual([commandId]);
  });

  it("command_kill kills a background command's group and logs it as cancelled", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const { command, marker } = uniqueSleep();
    const running = await pyro.execWorkspace({
      workspace_id: id,
      command,
      timeout_seconds: 120,
      wait_seconds: 0.2,
    });
    await waitFor(() => processesWith(marker).length >= 2);
    const killed = await pyro.killCommand({
      workspace_id: id,
      command_id: running.command_id as string,
    });
    expect(killed).toMatchObject({ state: "exited", exit_code: 130, cancelled: true, sequence: 1 });
    await waitFor(() => processesWith(marker).length === 0, 2_000);
  });

  it("reset and delete kill background commands", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const first = uniqueSleep();
    await pyro.execWorkspace({
      workspace_id: id,
      command: first.command,
      timeout_seconds: 120,
      wait_seconds: 0,
    });
    await waitFor(() => processesWith(first.marker).length >= 2);
    await pyro.resetWorkspace({ workspace_id: id });
    await waitFor(() => processesWith(first.marker).length === 0, 2_000);
    const second = uniqueSleep();
    await pyro.execWorkspace({
      workspace_id: id,
      command: second.command,
      timeout_seconds: 120,
      wait_seconds: 0,
    });
    await waitFor(() => processesWith(second.marker).length >= 2);
    await pyro.deleteWorkspace({ workspace_id: id });
    await waitFor(() => processesWith(second.marker).length === 0, 2_000);
  });

  it("an unknown command_id is not_found, naming it", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const failure = await pyro
      .waitCommand({ workspace_id: id, command_id: "cmd-000000000000" })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PyroError);
    expect((failure as PyroError).code).toBe("not_found");
    expect((failure as PyroError).message).toContain("cmd-000000000000");
  });

  it("over MCP, workspace_exec yields after the front end's default wait", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const { invokeOperation } = await import("../src/operations/index.js");
    const result = (await invokeOperation(
      runtimeOf(pyro),
      "workspace_exec",
      { workspace_id: id, command: "sleep 2" },
      { defaultWaitSeconds: 0.2 },
    )) as Record<string, unknown>;
    expect(result).toMatchObject({ state: "running", exit_code: null });
  });
});

describe("stdin and env", () => {
  it("`echo hi | pyro workspace exec ID -- cat` prints hi; a terminal or socket stdin is not read", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const piped = spawnSync(
      "sh",
      ["-c", `echo hi | "${process.execPath}" "${cliPath}" workspace exec ${id} -- cat`],
      {
        encoding: "utf8",
        env: pyroEnv(state.stateDir()),
      },
    );
    expect(piped.stderr).toBe("");
    expect(piped.stdout).toBe("hi\n");
    expect(piped.status).toBe(0);
    // spawnSync's stdin is a socket pair left open: not forwarded, and no hang.
    const unpiped = cli(["workspace", "exec", id, "--", "cat"]);
    expect(unpiped.stdout).toBe("");
    expect(unpiped.status).toBe(0);
  });

  it("passes stdin and env through the SDK and refuses bad ones naming field, rule and value", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const result = await pyro.execWorkspace({
      workspace_id: id,
      command: 'tr a-z A-Z; echo "$GREETING"',
      stdin: "abc\n",
      env: { GREETING: "hello world" },
    });
    expect(result.stdout).toBe("ABC\nhello world\n");
    const badName = await pyro
      .execWorkspace({ workspace_id: id, command: "true", env: { "BAD-NAME": "x" } })
      .catch((error: unknown) => error as PyroError);
    expect(badName).toMatchObject({ code: "invalid_argument" });
    expect((badName as PyroError).message).toMatch(/env.*\[A-Za-z_\].*BAD-NAME/);
    const tooMuch = await pyro
      .execWorkspace({ workspace_id: id, command: "cat", stdin: "x".repeat(1024 * 1024 + 1) })
      .catch((error: unknown) => error as PyroError);
    expect(tooMuch).toMatchObject({ code: "invalid_argument" });
    expect((tooMuch as PyroError).message).toMatch(
      /stdin must be at most 1048576 bytes, got 1048577/,
    );
    const service = await pyro.startService({
      workspace_id: id,
      service_name: "envy",
      command: 'echo "$SERVICE_SETTING" > envy.txt; sleep 30',
      env: { SERVICE_SETTING: "on" },
      readiness: { type: "file", path: "envy.txt" },
    });
    expect(service.state).toBe("running");
    const read = await pyro.execWorkspace({ workspace_id: id, command: "cat envy.txt" });
    expect(read.stdout).toBe("on\n");
  });
});

describe("bounded memory", () => {
  it("500 MB of output through the CLI keeps the CLI's and the agent's memory bounded, truncation reported", async () => {
    const pyro = sdk();
    const id = await workspace(pyro);
    const record = JSON.parse(
      fs.readFileSync(runtimeOf(pyro).context.layout.workspaceRecord(id), "utf8"),
    ) as { runtime: { pid: number } };
    const agentPid = record.runtime.pid;
    const { child, exited } = spawnCliExec(
      target(),
      id,
      "head -c 500000000 /dev/zero; head -c 1000000 /dev/zero >&2",
      { discard: true },
    );
    let cliPeak = 0;
    const poll = setInterval(() => {
      cliPeak = Math.max(cliPeak, highWaterMib(child.pid ?? 0));
    }, 50);
    const code = await exited;
    clearInterval(poll);
    expect(code).toBe(0);
    // Node alone is ~50 MiB; 500 MB held anywhere would show as hundreds.
    expect(cliPeak).toBeGreaterThan(0);
    expect(cliPeak).toBeLessThan(200);
    expect(highWaterMib(agentPid)).toBeLessThan(200);
    const entry = await lastLogEntry(pyro, id);
    expect(entry).toMatchObject({ exit_code: 0, stdout_truncated: true });
  }, 120_000);
});

/** Peak resident memory (VmHWM) of a live process in MiB; 0 once it is gone. */
function highWaterMib(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kib ? Number(kib) / 1024 : 0;
  } catch {
    return 0;
  }
}
