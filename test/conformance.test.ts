/**
 * The backend conformance suite: one set of flows that every backend must pass. The host
 * backend always runs it; the QEMU backend runs it whenever qemu and the debian:12
 * environment are available, which CI guarantees (scripts/guest-setup.sh). Under TCG a
 * cold boot takes several seconds, so the set is small and each flow reuses its sandbox.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import * as tar from "tar";

import { processIsAlive } from "../src/process/process-group.js";
import type { Manager } from "../src/core/manager.js";
import { AgentClient } from "../src/protocol/client.js";
import { attachScenario, requireTmux } from "./attach-tmux.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { readUntil, useTempState, writeTree } from "./helpers.js";
import { paxBody, rawBlocks } from "./hostile-tar.js";

interface Tier {
  backend: "host" | "qemu";
  executionMode: string;
  allowHostCompat: boolean;
  /** Per-test timeout: guest boots are slow under software emulation. */
  timeoutMs: number;
}

const TIERS: Tier[] = [
  { backend: "host", executionMode: "host_compat", allowHostCompat: true, timeoutMs: 30_000 },
  { backend: "qemu", executionMode: "guest_serial", allowHostCompat: false, timeoutMs: 240_000 },
];

describe.each(TIERS)("conformance: $backend backend", (tier) => {
  const state = useTempState();
  let skipReason: string | null = null;
  const bases: string[] = [];

  beforeAll(async () => {
    if (tier.backend !== "qemu") return;
    skipReason = await qemuUnavailableReason();
    if (skipReason && process.env.CI) {
      throw new Error(`the real-guest tier is required in CI: ${skipReason}`);
    }
  });

  afterAll(() => {
    // Whatever happened in the flows, no VMM of this suite may outlive it.
    for (const base of bases) expect(qemuProcessesUnder(base)).toEqual([]);
  });

  const manager = (skip: (note?: string) => void): Manager => {
    if (skipReason) skip(skipReason);
    bases.push(state.base());
    return state.manager({ backend: tier.backend });
  };

  it(
    "runs a one-shot command and says how it ran",
    { timeout: tier.timeoutMs },
    async ({ skip }) => {
      const pyro = manager(skip);
      const calledAt = Date.now() / 1000;
      const result = await pyro.runVm({
        command: "uname -sr; pwd; date -u +%s",
        allow_host_compat: tier.allowHostCompat,
      });
      const returnedAt = Date.now() / 1000;
      expect(result.exit_code).toBe(0);
      expect(result.execution_mode).toBe(tier.executionMode);
      // The guest's clock follows the host's (set at boot, then from the supervisor's hello),
      // so files written in the sandbox never look older than files pushed from the host.
      // The guest read its clock during the call (whose end also waits for the VM's
      // deletion, seconds under load): within it, give or take `date +%s`'s truncation and 1 s.
      const guestEpoch = Number(result.stdout.trim().split("\n").at(-1));
      expect(guestEpoch).toBeGreaterThanOrEqual(Math.floor(calledAt) - 1);
      expect(guestEpoch).toBeLessThanOrEqual(returnedAt + 1);
      if (tier.backend === "qemu") {
        // A real guest: Debian's cloud kernel, not the host's.
        expect(result.stdout).toContain("cloud-amd64");
        expect(result.stdout).not.toContain(os.release());
        expect(result.stdout).toContain("/workspace");
      }
      expect(fs.readdirSync(pyro.context.layout.vmsDir)).toEqual([]);
    },
  );

  it(
    "seeds, execs, snapshots, resets to the snapshot, diffs, exports and deletes a workspace",
    { timeout: tier.timeoutMs },
    async ({ skip }) => {
      const pyro = manager(skip);
      const seed = writeTree(path.join(state.base(), "seed"), {
        "README.md": "hello\n",
        "src/app.py": "print('hi')\n",
        configure: "#!/bin/sh\necho configured\n",
      });
      fs.symlinkSync("src", path.join(seed, "current"));
      fs.chmodSync(path.join(seed, "configure"), 0o755);
      // The seed's own directory (a `mktemp -d`: 0700, old) is not /workspace's metadata.
      const old = new Date(1_000_000_000 * 1000);
      fs.chmodSync(seed, 0o700);
      fs.utimesSync(seed, old, old);
      const created = await pyro.createWorkspace({
        seed_path: seed,
        allow_host_compat: tier.allowHostCompat,
      });
      const id = created.workspace_id;
      expect(created.execution_mode).toBe(tier.executionMode);
      expect(created.workspace_seed.mode).toBe("directory");

      const read = await pyro.execWorkspace(id, { command: "cat README.md; readlink current" });
      expect(read.stdout).toBe("hello\nsrc\n");

      // A push never changes the metadata of its destination (nor of the parents on the
      // way), whatever the pushed directory's own mode and mtime.
      const stat = async (paths: string) =>
        (await pyro.execWorkspace(id, { command: `stat -c '%a %Y' ${paths}` })).stdout;
      const seeded = await stat(". src");
      expect(seeded.split("\n")[0]).toMatch(/^755 /);
      expect(seeded).not.toContain(" 1000000000");
      const pushed = writeTree(path.join(state.base(), "pushed"), { "pushed.txt": "p\n" });
      fs.chmodSync(pushed, 0o700);
      fs.utimesSync(pushed, old, old);
      await pyro.pushWorkspaceSync(id, { source_path: pushed });
      await pyro.pushWorkspaceSync(id, { source_path: pushed, dest: "/workspace/src" });
      await pyro.pushWorkspaceSync(id, { source_path: pushed, dest: "/workspace/src/new/deep" });
      const afterPush = await stat(". src");
      expect(afterPush.split("\n").map((line) => line.split(" ")[0])).toEqual(
        seeded.split("\n").map((line) => line.split(" ")[0]),
      );
      expect(afterPush).not.toContain(" 1000000000");
      expect((await stat("src/new/deep")).split(" ")[0]).not.toBe("700");
      await pyro.execWorkspace(id, { command: "rm -r pushed.txt src/pushed.txt src/new" });

      // Mode changes: mode only (chmod a-x), and with the content; /workspace's own mode,
      // which the snapshot records and a reset restores.
      await pyro.execWorkspace(id, {
        command:
          "echo v2 >> README.md && mkdir -p build/empty && echo out > build/out.txt && " +
          "chmod a-x configure && echo 'print(2)' >> src/app.py && chmod +x src/app.py && " +
          "chmod 750 .",
      });
      await pyro.createSnapshot(id, "checkpoint");
      await pyro.execWorkspace(id, { command: "chmod 755 ." });

      // Break it, with a shell open, then reset instead of repairing.
      const shell = await pyro.openShell(id, {});
      await pyro.writeShell(id, shell.shell_id, { input: "tty" });
      await readUntil(pyro, id, shell.shell_id, "/dev/pts/");
      await pyro.execWorkspace(id, { command: "rm -rf src && echo broken > README.md" });

      const reset = await pyro.resetWorkspace(id, { snapshot: "checkpoint" });
      expect(reset.workspace_id).toBe(id);
      expect(reset.state).toBe("started");
      expect(reset.reset_count).toBe(1);
      expect(reset.command_count).toBe(0);
      expect(reset.workspace_reset?.snapshot_name).toBe("checkpoint");
      await expect(pyro.readShell(id, shell.shell_id, {})).rejects.toThrow("does not exist");

      const after = await pyro.execWorkspace(id, {
        command: "cat README.md; cat src/app.py; stat -c %a . configure src/app.py",
      });
      expect(after.stdout).toBe("hello\nv2\nprint('hi')\nprint(2)\n750\n644\n755\n");

      const diff = await pyro.diffWorkspace(id);
      expect(diff.changed).toBe(true);
      const byPath = Object.fromEntries(diff.entries.map((entry) => [entry.path, entry.status]));
      expect(byPath["README.md"]).toBe("modified");
      expect(byPath["build/out.txt"]).toBe("added");
      expect(diff.patch).toContain("+v2");
      expect(diff.entries.find((entry) => entry.path === "configure")).toEqual({
        path: "configure",
        status: "mode_changed",
        artifact_type: "file",
        text_patch: "diff --git a/configure b/configure\nold mode 100755\nnew mode 100644\n",
        old_mode: "100755",
        new_mode: "100644",
      });
      expect(diff.entries.find((entry) => entry.path === "src/app.py")).toMatchObject({
        status: "modified",
        old_mode: "100644",
        new_mode: "100755",
      });
      expect(diff.patch).toContain(
        "diff --git a/src/app.py b/src/app.py\nold mode 100644\nnew mode 100755\n--- a/src/app.py",
      );
      expect(diff.summary).toMatchObject({ total: 5, modified: 2, mode_changed: 1, added: 2 });

      const output = path.join(state.base(), "exported");
      await pyro.exportWorkspace(id, { path: "build", output_path: output });
      expect(fs.readFileSync(path.join(output, "out.txt"), "utf8")).toBe("out\n");
      expect(fs.statSync(path.join(output, "empty")).isDirectory()).toBe(true);

      // The next diff gets only the manifest lines that changed (src/diff/manifest-delta.ts),
      // with the files just written hashed and read again: the answer a whole manifest gives.
      await pyro.execWorkspace(id, {
        command: "echo v3 >> README.md; rm build/out.txt; ln -sf README.md configure",
      });
      const second = await pyro.diffWorkspace(id);
      expect(second.entries.map((entry) => [entry.path, entry.status])).toEqual([
        ["README.md", "modified"],
        ["build/empty", "added"],
        ["configure", "type_changed"],
        ["src/app.py", "modified"],
      ]);
      expect(second.patch).toContain("+v2\n+v3\n");
      fs.rmSync(pyro.context.layout.manifestCache(id));
      expect(await pyro.diffWorkspace(id)).toEqual(second);

      const slow = await pyro.execWorkspace(id, { command: "sleep 30", timeout_seconds: 1 });
      expect(slow.exit_code).toBe(124);
      expect(slow.stderr).toContain("timed out");

      const record = JSON.parse(
        fs.readFileSync(pyro.context.layout.workspaceRecord(id), "utf8"),
      ) as { runtime: { pid: number; vmm_pid?: number } };
      await pyro.deleteWorkspace(id);
      expect(fs.existsSync(pyro.context.layout.workspaceDir(id))).toBe(false);
      expect(processIsAlive(record.runtime.pid)).toBe(false);
      if (record.runtime.vmm_pid) expect(processIsAlive(record.runtime.vmm_pid)).toBe(false);
    },
  );

  it(
    "attaches a terminal to a shell: size, resize, Ctrl-C, detach and reattach (under tmux)",
    { timeout: tier.timeoutMs },
    async ({ skip }) => {
      requireTmux(skip);
      const pyro = manager(skip);
      const { workspace_id: id } = await pyro.createWorkspace({
        allow_host_compat: tier.allowHostCompat,
      });
      await attachScenario(pyro, id, {
        PYRO_STATE_DIR: state.stateDir(),
        PYRO_BACKEND: tier.backend,
      });
      await pyro.deleteWorkspace(id);
    },
  );

  it(
    "notices a killed sandbox process, records why, and a reset repairs the workspace",
    { timeout: tier.timeoutMs },
    async ({ skip }) => {
      const pyro = manager(skip);
      const { workspace_id: id } = await pyro.createWorkspace({
        allow_host_compat: tier.allowHostCompat,
      });
      await pyro.execWorkspace(id, { command: "echo kept > note.txt" });
      await pyro.createSnapshot(id, "note");
      const record = JSON.parse(
        fs.readFileSync(pyro.context.layout.workspaceRecord(id), "utf8"),
      ) as { runtime: { pid: number; socket_path: string; vmm_pid?: number } };

      // The host's word that it validated an archive counts only in a guest, and only for
      // an empty destination; the host agent, writing to the host, always validates itself.
      const payload = path.join(state.base(), "payload");
      writeTree(payload, { "more.txt": "more\n" });
      const archive = path.join(state.base(), "payload.tar");
      await tar.c({ file: archive, cwd: payload }, ["more.txt"]);
      const { client } = await AgentClient.connect(record.runtime.socket_path);
      try {
        const importing = client.call(
          "archive.import",
          { destination: "/workspace", host_validated: true },
          { upload: fs.createReadStream(archive) },
        );
        if (tier.backend === "qemu") {
          await expect(importing).rejects.toThrow("only restored into an empty directory");
        } else {
          await expect(importing).resolves.toMatchObject({ validated_by: "agent" });
        }
      } finally {
        client.close();
      }

      // The agent's own extraction writes nothing outside /workspace through a symlink made
      // inside it, whatever headers an archive uses (the host would refuse these first, so
      // they go to the agent directly).
      const made = await pyro.execWorkspace(id, {
        command: 'd=$(mktemp -d) && ln -s "$d" evil && echo "$d"',
      });
      const outside = made.stdout.trim();
      const hostile: Buffer[] = [
        rawBlocks([
          { name: "pax_global_header", type: "g", body: paxBody({ path: "evil/pwned" }) },
          { name: "a.txt", body: "pwned" },
        ]),
        rawBlocks([
          { name: "pwned", body: "x", magic: Buffer.from("ustar\0xx", "binary"), prefix: "evil" },
        ]),
      ];
      const agent = (await AgentClient.connect(record.runtime.socket_path)).client;
      try {
        for (const data of hostile) {
          const hostileTar = path.join(state.base(), "hostile.tar");
          fs.writeFileSync(hostileTar, data);
          await expect(
            agent.call(
              "archive.import",
              { destination: "/workspace" },
              { upload: fs.createReadStream(hostileTar) },
            ),
          ).rejects.toThrow("unsupported archive header");
        }
      } finally {
        agent.close();
      }
      const listed = await pyro.execWorkspace(id, {
        command: `ls -A '${outside}'; rm -rf '${outside}' evil`,
      });
      expect(listed.stdout).toBe("");

      // qemu itself for a guest (its supervisor must notice), the agent on the host.
      const victim = record.runtime.vmm_pid ?? record.runtime.pid;
      process.kill(victim, "SIGKILL");
      await expect
        .poll(async () => (await pyro.statusWorkspace(id)).state, { timeout: 10_000 })
        .toBe("stopped");
      const stopped = await pyro.statusWorkspace(id);
      expect(stopped.last_error).toMatch(
        tier.backend === "qemu" ? /qemu .*killed by SIGKILL/ : /no longer running/,
      );
      await expect(pyro.execWorkspace(id, { command: "true" })).rejects.toThrow(
        "must be in 'started' state",
      );

      const repaired = await pyro.resetWorkspace(id, { snapshot: "note" });
      expect(repaired.state).toBe("started");
      expect(repaired.last_error).toBeNull();
      const note = await pyro.execWorkspace(id, { command: "cat note.txt" });
      expect(note.stdout).toBe("kept\n");
      await pyro.deleteWorkspace(id);
    },
  );
});
