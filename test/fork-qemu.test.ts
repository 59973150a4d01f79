/**
 * workspace_fork on the QEMU backend (issue 11): two forks of a seeded, edited workspace are
 * two fresh sandboxes (template restores: their own random state, the host's clock), each
 * reading the source's point, their writes crossing nowhere, and their diff showing what
 * changed since the source's seed. One source boot and two fork boots, shared by every
 * check. Skipped where qemu or debian:12 is missing. Run under `flock /tmp/pyro-guest.lock`.
 */
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import type { Manager } from "../src/core/manager.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState, writeTree } from "./helpers.js";

/** What a fresh sandbox must not share with another, and its clock against the host's. */
async function identity(pyro: Manager, id: string) {
  const before = Date.now();
  const result = await pyro.execWorkspace(id, {
    command: "date +%s.%N; cat /proc/sys/kernel/random/uuid; head -c 16 /dev/urandom | od -An -tx1",
  });
  const after = Date.now();
  const [clock = "", uuid, urandom] = result.stdout.trim().split("\n");
  const guestMs = Number(clock) * 1000;
  return { uuid, urandom, lowest: guestMs - after, highest: guestMs - before };
}

describe("qemu backend: workspace_fork", () => {
  const state = useTempState();

  it(
    "forks a seeded workspace into two fresh, independent guests with the source's baseline",
    { timeout: 900_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const seed = writeTree(path.join(state.base(), "seed"), {
        "a.txt": "seed\n",
        "src/keep.txt": "keep\n",
      });
      const source = await pyro.createWorkspace({ seed_path: seed });
      const id = source.workspace_id;
      await pyro.execWorkspace(id, { command: "echo edited > a.txt && echo new > b.txt" });

      const forked = await pyro.forkWorkspace(id, { count: 2 });
      expect(forked).toMatchObject({ workspace_id: id, snapshot_name: null, count: 2 });
      const [one = "", two = ""] = forked.workspaces.map((fork) => fork.workspace_id);
      for (const fork of forked.workspaces) {
        expect(fork).toMatchObject({
          state: "started",
          backend: "qemu",
          forked_from: { workspace_id: id, snapshot_name: null },
        });
      }

      // Each fork reads the source's point.
      const read = "cat a.txt b.txt src/keep.txt";
      for (const fork of [one, two]) {
        expect((await pyro.execWorkspace(fork, { command: read })).stdout).toBe(
          "edited\nnew\nkeep\n",
        );
      }

      // Two fresh sandboxes: their own random state, the host's clock.
      const a = await identity(pyro, one);
      const b = await identity(pyro, two);
      expect(a.uuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.uuid).not.toBe(b.uuid);
      expect(a.urandom).not.toBe(b.urandom);
      for (const sample of [a, b]) {
        expect(sample.lowest).toBeLessThanOrEqual(1_000);
        expect(sample.highest).toBeGreaterThanOrEqual(-1_000);
      }

      // Writes cross neither to the other fork nor to the source.
      await pyro.execWorkspace(one, { command: "echo one > a.txt && echo only > c.txt" });
      expect((await pyro.execWorkspace(two, { command: "cat a.txt; ls" })).stdout).toBe(
        "edited\na.txt\nb.txt\nsrc\n",
      );
      expect((await pyro.execWorkspace(id, { command: "cat a.txt; ls" })).stdout).toBe(
        "edited\na.txt\nb.txt\nsrc\n",
      );

      // The fork's diff is against the source's seed: a.txt modified, b.txt and c.txt added.
      const diff = await pyro.diffWorkspace(one);
      expect(diff.entries.map((entry) => `${entry.status} ${entry.path}`).sort()).toEqual([
        "added b.txt",
        "added c.txt",
        "modified a.txt",
      ]);

      for (const each of [one, two, id]) await pyro.deleteWorkspace(each);
      expect(qemuProcessesUnder(state.stateDir())).toEqual([]);
      expect(fs.readdirSync(path.join(state.stateDir(), "workspaces"))).toEqual([]);
    },
  );
});
