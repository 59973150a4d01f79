/**
 * Long commands in a real guest (issue 13), all on one boot: a cancelled call kills the
 * command's whole group inside the guest (its cgroup), Ctrl-C of the CLI does too, a command
 * yielded to the background survives its starter and is logged, output streams through the
 * VM supervisor's relay, and stdin reaches the command. Skipped where qemu or the debian:12
 * environment is missing. Run under `flock /tmp/pyro-guest.lock`.
 */
import { describe, expect, it } from "vitest";

import type { PyroError } from "../src/errors.js";
import { Pyro } from "../src/sdk/pyro.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState, waitFor } from "./helpers.js";
import { type CliTarget, cliExecYielding, spawnCliExec } from "./long-commands-helpers.js";

const state = useTempState();

/** How many guest processes run `sleep MARKER` (read from the guest's /proc). */
async function guestSleepers(pyro: Pyro, id: string, marker: string): Promise<number> {
  const probe = await pyro.execWorkspace({
    workspace_id: id,
    command: `for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep ${marker}' || true`,
  });
  return Number(probe.stdout.trim());
}

describe("qemu backend: long commands", () => {
  it(
    "cancels in the guest, keeps background commands, streams through the relay and passes stdin",
    { timeout: 300_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = new Pyro({ baseDir: state.stateDir(), backend: "qemu" });
      const target: CliTarget = { stateDir: state.stateDir(), backend: "qemu" };
      try {
        const { workspace_id: id } = await pyro.createWorkspace({});

        // An aborted SDK call: the pipeline and its background job are gone within 2 s.
        const controller = new AbortController();
        const call = pyro.execWorkspace(
          {
            workspace_id: id,
            command: "sleep 771 & sleep 771 | cat; echo never",
            timeout_seconds: 120,
          },
          { signal: controller.signal },
        );
        await waitFor(async () => (await guestSleepers(pyro, id, "771")) >= 2, 30_000);
        controller.abort();
        const failure = await call.catch((error: unknown) => error);
        expect((failure as PyroError).code).toBe("cancelled");
        await waitFor(async () => (await guestSleepers(pyro, id, "771")) === 0, 2_000);
        // The probes above are logged too: find the cancelled command's own entry.
        const logs = await pyro.logsWorkspace({ workspace_id: id });
        const cancelled = logs.entries.filter((entry) => entry.command.startsWith("sleep 771"));
        expect(cancelled).toHaveLength(1);
        expect(cancelled[0]).toMatchObject({ exit_code: 130, cancelled: true });

        // Ctrl-C of the CLI: the command in the guest is killed, the CLI exits 130.
        const { child, output, exited } = spawnCliExec(target, id, "echo up; sleep 772");
        await waitFor(() => output.stdout.includes("up"), 30_000);
        child.kill("SIGINT");
        expect(await exited).toBe(130);
        await waitFor(async () => (await guestSleepers(pyro, id, "772")) === 0, 2_000);

        // Streaming through the relay: the first line arrives before the command ends.
        const seen: number[] = [];
        const streamed = await pyro.execWorkspace(
          { workspace_id: id, command: "echo first; sleep 2; echo second" },
          { onStdout: (text) => text.includes("first") && seen.push(Date.now()) },
        );
        expect(streamed.stdout).toBe("first\nsecond\n");
        expect(Date.now() - (seen[0] ?? Date.now())).toBeGreaterThan(1_000);

        // A background command outlives the CLI process that started it and lands in the log.
        const running = cliExecYielding(target, id, "echo begun; sleep 3; echo ended", 1).result;
        expect(running.state).toBe("running");
        const waited = await pyro.waitCommand({
          workspace_id: id,
          command_id: running.command_id as string,
          wait_seconds: 60,
        });
        expect(waited).toMatchObject({ state: "exited", exit_code: 0, stdout: "begun\nended\n" });
        const entries = (await pyro.logsWorkspace({ workspace_id: id })).entries;
        expect(entries.filter((entry) => entry.command_id === running.command_id)).toHaveLength(1);

        // stdin.
        const piped = await pyro.execWorkspace({
          workspace_id: id,
          command: "wc -c",
          stdin: "12345",
        });
        expect(piped.stdout.trim()).toBe("5");

        await pyro.deleteWorkspace({ workspace_id: id });
        expect(qemuProcessesUnder(state.base())).toEqual([]);
      } finally {
        pyro.close();
      }
    },
  );
});
