/**
 * Workspace volumes on a real guest (issue 11, docs/qemu-backend.md "Workspace volumes"):
 * /workspace is its own ext4 volume, a named snapshot is a sealed copy-on-write point of it
 * and a reset boots a new top over one. Resets restore exactly (contents, modes, mtimes,
 * symlinks, deleted and added files), chains survive deleting a middle snapshot and are
 * flattened past the depth limit, a kill -9 at the volume's steps loses no snapshot and
 * leaves no VM or stray layer, and a workspace without a volume keeps the tar path.
 * Skipped where qemu or the debian:12 environment is missing. Run under
 * `flock /tmp/pyro-guest.lock`.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { QemuBackend } from "../src/backends/qemu/qemu-backend.js";
import type { SandboxSpec } from "../src/backends/types.js";
import type { Manager } from "../src/core/manager.js";
import { AgentClient } from "../src/protocol/client.js";
import { defaultEnvironmentCacheDir } from "../src/store/layout.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { guestSpec, useTempState, writeTree } from "./helpers.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "cli", "main.js");

/** Every entry of /workspace with its type, mode, mtime, size, link target and digest. */
const LISTING = [
  "cd /workspace",
  "find . -printf '%p %y %m %T@ %s %l\\n' | sort",
  "find . -type f -exec sha256sum {} + | sort",
  "mount | grep ' /workspace ' | cut -d' ' -f1,5",
].join(" && ");

async function listing(pyro: Manager, id: string, wholeSeconds = false): Promise<string> {
  const result = await pyro.execWorkspace(id, { command: LISTING });
  expect(result.exit_code).toBe(0);
  // A tar snapshot keeps whole seconds of mtimes, and a reset to a seeded baseline gives
  // /workspace itself the seed directory's (as before volumes).
  return wholeSeconds
    ? result.stdout.replace(/ (\d+)\.\d+ /g, " $1 ").replace(/^\. d .*\n/m, "")
    : result.stdout;
}

interface VolumeIndex {
  top: string;
  layers: Record<string, { parent: string | null }>;
  points: Record<string, string>;
  intent: unknown;
}

function volumeIndex(pyro: Manager, id: string): VolumeIndex {
  const dir = path.join(pyro.context.layout.workspaceDir(id), "volume");
  return JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8")) as VolumeIndex;
}

/** The volume holds exactly the layers its index names, each reachable from a root. */
function expectNoStrayLayers(pyro: Manager, id: string): VolumeIndex {
  const dir = path.join(pyro.context.layout.workspaceDir(id), "volume");
  const index = volumeIndex(pyro, id);
  expect(index.intent).toBeNull();
  const files = fs.readdirSync(dir).filter((name) => name !== "index.json");
  expect(files.sort()).toEqual(
    Object.keys(index.layers)
      .map((layer) => `${layer}.qcow2`)
      .sort(),
  );
  const reachable = new Set<string>();
  for (const start of [index.top, ...Object.values(index.points)]) {
    for (let at: string | null = start; at; at = index.layers[at]?.parent ?? null) {
      reachable.add(at);
    }
  }
  expect([...reachable].sort()).toEqual(Object.keys(index.layers).sort());
  return index;
}

function seedTree(base: string): string {
  const seed = writeTree(fs.mkdtempSync(path.join(base, "seed-")), {
    "README.md": "seeded\n",
    "src/main.c": "int main(void) { return 0; }\n",
    "src/deep/a/b/c.txt": "deep\n",
    "bin/run.sh": "#!/bin/sh\necho run\n",
  });
  fs.chmodSync(path.join(seed, "bin/run.sh"), 0o755);
  fs.symlinkSync("src/main.c", path.join(seed, "main-link"));
  return seed;
}

describe("qemu backend: /workspace on its own volume", () => {
  const state = useTempState();

  it(
    "resets to a snapshot and to the baseline exactly, through a chain with a deleted middle",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const created = await pyro.createWorkspace({ seed_path: seedTree(state.base()) });
      const id = created.workspace_id;
      const baseline = await listing(pyro, id, true);
      expect(baseline).toContain("/dev/vdc ext4");
      expect(baseline).toContain("./main-link l 777");

      await pyro.execWorkspace(id, {
        command: [
          "echo changed >> README.md",
          "chmod 600 src/main.c",
          "ln -s deep/a src/short",
          "mkdir -p new/dir && echo added > new/dir/f.txt",
          "touch -d '2001-02-03 04:05:06' src/deep/a/b/c.txt",
        ].join(" && "),
      });
      const first = await listing(pyro, id, true);
      const s1 = await pyro.createSnapshot(id, "s1");
      expect(s1.snapshot).toMatchObject({ snapshot_name: "s1", entry_count: null });
      expect(s1.snapshot.size_bytes).toBeGreaterThan(0);

      await pyro.execWorkspace(id, { command: "echo second > second.txt && rm -r new" });
      const second = await listing(pyro, id, true);
      await pyro.createSnapshot(id, "s2"); // a child of s1 on the same chain

      await pyro.execWorkspace(id, {
        command: "rm -rf src bin && echo junk > junk.txt && chmod 700 .",
      });
      const reset = await pyro.resetWorkspace(id, { snapshot: "s1" });
      expect(reset.reset_count).toBe(1);
      expect(await listing(pyro, id, true)).toBe(first);

      // The middle point's name goes; its layer stays, s2 backs onto it.
      const before = volumeIndex(pyro, id);
      await pyro.deleteSnapshot(id, "s1");
      const after = expectNoStrayLayers(pyro, id);
      expect(after.points.s1).toBeUndefined();
      expect(after.layers[before.points.s1 as string]).toBeDefined();
      await pyro.resetWorkspace(id, { snapshot: "s2" });
      expect(await listing(pyro, id, true)).toBe(second);

      await pyro.resetWorkspace(id);
      expect(await listing(pyro, id, true)).toBe(baseline);
      // Nothing but s2's chain, the baseline and the top is left.
      await pyro.deleteSnapshot(id, "s2");
      const last = expectNoStrayLayers(pyro, id);
      expect(Object.keys(last.points)).toEqual(["baseline"]);
      expect(Object.keys(last.layers)).toHaveLength(3); // empty fs, baseline, top
      const names = (await pyro.listSnapshots(id)).snapshots.map((s) => s.snapshot_name);
      expect(names).toEqual(["baseline"]);

      // Stop and start keep the volume; the diff still reads the baseline.
      await pyro.execWorkspace(id, { command: "echo kept > kept.txt" });
      await pyro.stopWorkspace(id);
      await pyro.startWorkspace(id);
      expect((await pyro.execWorkspace(id, { command: "cat kept.txt" })).stdout).toBe("kept\n");
      expect((await pyro.diffWorkspace(id)).summary.added).toBe(1);

      await pyro.deleteWorkspace(id);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "flattens a chain past the depth limit and still resets exactly",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({});
      const expected = new Map<number, string>();
      for (let step = 1; step <= 17; step += 1) {
        await pyro.execWorkspace(id, {
          command: `echo ${step} > f${step}.txt && rm -f f${step - 2}.txt`,
        });
        expected.set(step, await listing(pyro, id, true));
        await pyro.createSnapshot(id, `p${step}`);
      }
      // The running top was streamed into a standalone layer when the chain passed 16.
      const index = volumeIndex(pyro, id);
      const depth = (start: string): number => {
        let count = 0;
        for (let at: string | null = start; at; at = index.layers[at]?.parent ?? null) count += 1;
        return count;
      };
      expect(depth(index.top)).toBeLessThanOrEqual(16);
      const top = path.join(pyro.context.layout.workspaceDir(id), "volume", `${index.top}.qcow2`);
      const info = spawnSync("qemu-img", ["info", "-U", "--output=json", top], {
        encoding: "utf8",
      });
      expect(JSON.parse(info.stdout)["backing-filename"]).toBe(
        `${index.layers[index.top]?.parent}.qcow2`,
      );
      // p14 was sealed at the limit's depth: a reset to it flattens it first.
      expect(depth(index.points.p14 as string)).toBe(16);
      expect(depth(index.points.p17 as string)).toBeLessThan(16);
      await pyro.execWorkspace(id, { command: "rm -f *.txt" });
      await pyro.resetWorkspace(id, { snapshot: "p14" });
      expect(await listing(pyro, id, true)).toBe(expected.get(14));
      const flat = volumeIndex(pyro, id);
      expect(flat.layers[flat.points.p14 as string]?.parent).toBeNull();
      await pyro.resetWorkspace(id, { snapshot: "p17" });
      expect(await listing(pyro, id, true)).toBe(expected.get(17));
      await pyro.resetWorkspace(id, { snapshot: "p2" });
      expect(await listing(pyro, id, true)).toBe(expected.get(2));
      expectNoStrayLayers(pyro, id);
      await pyro.deleteWorkspace(id);
    },
  );

  it(
    "loses no snapshot and leaves no VM or stray layer when killed at a volume step",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({});
      const dir = pyro.context.layout.workspaceDir(id);
      await pyro.execWorkspace(id, { command: "echo keep > keep.txt" });
      const kept = await listing(pyro, id, true);
      await pyro.createSnapshot(id, "keep");
      const runCli = (args: string[], killAt: string) =>
        new Promise<NodeJS.Signals | null>((resolve) => {
          const child = spawn(process.execPath, [cli, ...args], {
            stdio: "ignore",
            env: {
              ...process.env,
              PYRO_STATE_DIR: state.stateDir(),
              PYRO_BACKEND: "qemu",
              PYRO_VOLUME_KILL_AT: killAt,
            },
          });
          child.once("exit", (_code, signal) => resolve(signal));
        });

      for (const step of ["seal-top-created", "seal-switched"]) {
        await pyro.execWorkspace(id, { command: `echo ${step} > step.txt` });
        expect(await runCli(["workspace", "snapshot", "create", id, `at-${step}`], step)).toBe(
          "SIGKILL",
        );
        const names = (await pyro.listSnapshots(id)).snapshots.map((s) => s.snapshot_name);
        expect(names).toEqual(["baseline", "keep"]);
        // The guest thaws on its own; the next snapshot works (and repairs the volume).
        await pyro.createSnapshot(id, `after-${step}`);
        expectNoStrayLayers(pyro, id);
        await pyro.deleteSnapshot(id, `after-${step}`);
      }

      expect(
        await runCli(["workspace", "reset", id, "--snapshot", "keep"], "reset-top-created"),
      ).toBe("SIGKILL");
      expect(qemuProcessesUnder(dir)).toEqual([]);
      expect((await pyro.statusWorkspace(id)).state).toBe("stopped");
      const repaired = await pyro.resetWorkspace(id, { snapshot: "keep" });
      expect(repaired.state).toBe("started");
      expect(await listing(pyro, id, true)).toBe(kept);
      const index = expectNoStrayLayers(pyro, id);
      expect(Object.keys(index.points).sort()).toEqual(["baseline", "keep"]);
      await pyro.deleteWorkspace(id);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "keeps the tar path for a workspace without a volume (PYRO_WORKSPACE_VOLUMES=0)",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      process.env.PYRO_WORKSPACE_VOLUMES = "0";
      let id: string;
      try {
        id = (await pyro.createWorkspace({ seed_path: seedTree(state.base()) })).workspace_id;
      } finally {
        delete process.env.PYRO_WORKSPACE_VOLUMES;
      }
      const record = JSON.parse(
        fs.readFileSync(path.join(pyro.context.layout.workspaceDir(id), "workspace.json"), "utf8"),
      ) as Record<string, unknown>;
      expect(record.workspace_volume).toBeUndefined();
      const baseline = await listing(pyro, id, true);
      expect(baseline).not.toContain("/dev/vdc");
      await pyro.execWorkspace(id, { command: "echo more >> README.md && rm main-link" });
      const changed = await listing(pyro, id, true);
      await pyro.createSnapshot(id, "t1");
      expect(fs.existsSync(path.join(pyro.context.layout.snapshotsDir(id), "t1.tar"))).toBe(true);
      await pyro.execWorkspace(id, { command: "rm -rf src" });
      await pyro.resetWorkspace(id, { snapshot: "t1" });
      expect(await listing(pyro, id, true)).toBe(changed);
      await pyro.resetWorkspace(id);
      expect(await listing(pyro, id, true)).toBe(baseline);
      await pyro.deleteWorkspace(id);
    },
  );

  it(
    "clones a point into other workspaces' directories: independent, and intact without the source",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({
        seed_path: seedTree(state.base()),
      });
      const sourceDir = pyro.context.layout.workspaceDir(id);
      await pyro.execWorkspace(id, { command: "echo at-s > point.txt" });
      const atPoint = await listing(pyro, id);
      await pyro.createSnapshot(id, "s");
      await pyro.execWorkspace(id, { command: "echo now > now.txt" });
      const now = await listing(pyro, id);

      const backend = new QemuBackend(defaultEnvironmentCacheDir());
      const spec = (dir: string): SandboxSpec => guestSpec(dir, { volume: { resetTo: null } });
      const run = async (dir: string, command: string): Promise<string> => {
        const runtime = await backend.boot(spec(dir));
        try {
          const { client } = await AgentClient.connect(runtime.socket_path);
          try {
            const result = await client.call("exec", { command, cwd: "/workspace" });
            expect(result, result.stderr).toMatchObject({ exit_code: 0 });
            return result.stdout;
          } finally {
            client.close();
          }
        } finally {
          await backend.destroy(runtime, spec(dir));
        }
      };
      const clones = ["clone-a", "clone-b"].map((name) => path.join(state.base(), name));
      for (const dir of clones) {
        fs.mkdirSync(dir);
        await backend.cloneVolume(sourceDir, "s", dir);
      }
      const fromNow = path.join(state.base(), "clone-now");
      fs.mkdirSync(fromNow);
      await backend.cloneVolume(sourceDir, null, fromNow); // a point sealed now
      // The source is untouched by a clone of "now" (its top moved, its files did not).
      expect(await listing(pyro, id)).toBe(now);
      expect(Object.keys(volumeIndex(pyro, id).points).sort()).toEqual(["baseline", "s"]);

      await pyro.deleteWorkspace(id);
      expect(fs.existsSync(sourceDir)).toBe(false);
      const a = await run(clones[0] as string, `echo a > mine.txt && sync && ${LISTING}`);
      const b = await run(clones[1] as string, `${LISTING}`);
      expect(b).toBe(atPoint);
      expect(a).toContain("./mine.txt");
      expect(await run(clones[0] as string, "cat mine.txt")).toBe("a\n");
      expect(await run(fromNow, LISTING)).toBe(now);
      for (const dir of [...clones, fromNow]) {
        const index = JSON.parse(fs.readFileSync(path.join(dir, "volume", "index.json"), "utf8"));
        expect(index.points.baseline).toBeDefined();
        // Only the top is writable; every other layer is a shared, sealed file.
        for (const layer of Object.keys(index.layers)) {
          const mode = fs.statSync(path.join(dir, "volume", `${layer}.qcow2`)).mode & 0o777;
          if (layer === index.top) expect(mode & 0o200).toBe(0o200);
          else expect(mode).toBe(0o444);
        }
      }
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "forks a named snapshot by cloning the volume: the fork boots on it and resets to the source's baseline",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({
        seed_path: seedTree(state.base()),
      });
      const baseline = await listing(pyro, id);
      await pyro.execWorkspace(id, { command: "echo snap > snap.txt && rm README.md" });
      const atSnap = await listing(pyro, id);
      await pyro.createSnapshot(id, "snap");
      await pyro.execWorkspace(id, { command: "echo later > later.txt" });
      const forked = await pyro.forkWorkspace(id, { snapshot: "snap", count: 2 });
      const [one = "", two = ""] = forked.workspaces.map((fork) => fork.workspace_id);
      expect(await listing(pyro, one)).toBe(atSnap);
      await pyro.execWorkspace(one, { command: "echo mine > mine.txt" });
      expect(await listing(pyro, two)).toBe(atSnap);
      const oneDir = path.join(pyro.context.layout.workspaceDir(one), "volume");
      expect(fs.existsSync(path.join(oneDir, "index.json"))).toBe(true);
      // The source goes; the forks keep their layers and reset to the source's baseline.
      await pyro.deleteWorkspace(id);
      await pyro.resetWorkspace(one);
      expect(await listing(pyro, one)).toBe(baseline);
      const diff = await pyro.diffWorkspace(two);
      expect(diff.entries.map((entry) => `${entry.status} ${entry.path}`).sort()).toEqual([
        "added snap.txt",
        "deleted README.md",
      ]);
      for (const each of [one, two]) await pyro.deleteWorkspace(each);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );
});
