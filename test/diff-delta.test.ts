/**
 * workspace_diff's manifest deltas (src/diff/manifest-delta.ts, src/core/manifest-cache.ts)
 * on the host backend, with the agent's descriptor walk and with the native tools a real
 * guest uses (PYRO_AGENT_MANIFEST=native: find, in-process and sha256sum hashing, files.read
 * by GNU tar). Every diff taken through a delta must equal the one taken from a whole
 * manifest; a cache from another boot, another generation or a torn write only costs a
 * whole manifest. The guest half is in test/guest-node.test.ts.
 */
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import type { Manager } from "../src/runtime.js";
import { SentManifests, applyManifestDelta } from "../src/diff/manifest-delta.js";
import type { Manifest } from "../src/diff/index.js";
import type { ManifestEntry } from "../src/diff/manifest.js";
import { useTempState, withEnv, writeTree } from "./helpers.js";

const state = useTempState();

function cacheFile(id: string): string {
  return path.join(state.stateDir(), "workspaces", id, "manifest-cache.ndjson");
}

function cachedGeneration(id: string): string {
  const header = fs.readFileSync(cacheFile(id), "utf8").split("\n", 1)[0] ?? "";
  return (JSON.parse(header) as { generation: string }).generation;
}

/** tree.manifest straight from the agent: its answer and the lines it sent. */
async function askManifest(manager: Manager, id: string, since?: string) {
  const record = JSON.parse(
    fs.readFileSync(path.join(state.stateDir(), "workspaces", id, "workspace.json"), "utf8"),
  ) as { runtime: Parameters<Manager["context"]["pool"]["call"]>[0] };
  const chunks: Buffer[] = [];
  const reply = await manager.context.pool.call(
    record.runtime,
    "tree.manifest",
    { path: "/workspace", ...(since ? { since } : {}) },
    { onData: (chunk) => void chunks.push(chunk) },
  );
  return { reply, lines: Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean) };
}

const summary = (diff: Awaited<ReturnType<Manager["diffWorkspace"]>>) =>
  diff.entries.map((entry) => [entry.path, entry.status]);

describe.each([
  ["the descriptor walk", {}],
  ["native tools", { PYRO_AGENT_MANIFEST: "native" }],
])("workspace_diff through manifest deltas, %s", (_name, env: Record<string, string>) => {
  it("sends only what changed and gives the diff a whole manifest gives", async () => {
    await withEnv(env, async () => {
      const manager = state.manager();
      const seed = path.join(state.base(), "seed");
      writeTree(seed, {
        "a.txt": "a\n",
        "c.txt": "c\n",
        "d.sh": "#!/bin/sh\n",
        "e.txt": "e\n",
        "dir/f.txt": "f\n",
      });
      fs.chmodSync(path.join(seed, "d.sh"), 0o755);
      const { workspace_id: id } = await manager.createWorkspace({
        allow_host_compat: true,
        seed_path: seed,
      });
      expect((await manager.diffWorkspace(id)).changed).toBe(false);
      const first = cachedGeneration(id);
      expect(first).toMatch(/^[0-9a-f]{8}-\d+$/);

      await manager.execWorkspace(id, {
        command:
          "echo more >> a.txt; echo new > new.txt; rm c.txt; chmod a-x d.sh; rm e.txt; ln -s a.txt e.txt; mkdir empty; touch dir/f.txt",
      });
      const second = await manager.diffWorkspace(id);
      expect(summary(second)).toEqual([
        ["a.txt", "modified"],
        ["c.txt", "deleted"],
        ["d.sh", "mode_changed"],
        ["e.txt", "type_changed"],
        ["empty", "added"],
        ["new.txt", "added"],
      ]);
      expect(second.patch).toContain("+more\n");
      expect(cachedGeneration(id)).not.toBe(first);

      // Nothing changed since the last manifest: the agent sends no line at all. A touched
      // file with the same content (dir/f.txt above) is not a change either.
      const quiet = await askManifest(manager, id, cachedGeneration(id));
      expect(quiet.reply).toMatchObject({ delta: true, entry_count: 6 });
      expect(quiet.lines).toEqual([]);
      // The agent has moved on to the generation just asked for; the host's copy names
      // the one before, so the next diff gets (and needs) a whole manifest.
      await manager.execWorkspace(id, { command: "echo again >> new.txt; rm dir/f.txt" });
      const third = await manager.diffWorkspace(id);
      const byDelta = await manager.diffWorkspace(id);
      expect(byDelta).toEqual(third);
      fs.rmSync(cacheFile(id));
      const whole = await manager.diffWorkspace(id);
      expect(whole).toEqual(byDelta);
      expect(summary(whole)).toContainEqual(["dir/f.txt", "deleted"]);

      // A torn or foreign cache costs a whole manifest, never a wrong diff.
      fs.writeFileSync(
        cacheFile(id),
        '{"boot":"x","path":"/workspace","generation":"1"}\n["a","f"',
      );
      expect(await manager.diffWorkspace(id)).toEqual(whole);
      const text = fs.readFileSync(cacheFile(id), "utf8");
      fs.writeFileSync(cacheFile(id), text.replace(/"generation":"[^"]+"/, '"generation":"x"'));
      expect(await manager.diffWorkspace(id)).toEqual(whole);

      // A reset is another boot: its agent's generations start again, the cache is not used.
      await manager.resetWorkspace(id);
      expect((await manager.diffWorkspace(id)).changed).toBe(false);
      await manager.execWorkspace(id, { command: "echo after-reset >> a.txt" });
      expect(summary(await manager.diffWorkspace(id))).toEqual([["a.txt", "modified"]]);
    });
  });
});

describe("SentManifests and applyManifestDelta", () => {
  const file = (sha: string): { type: "file"; size: number; sha256: string; mode: number } => ({
    type: "file",
    size: 1,
    sha256: sha.repeat(64),
    mode: 0o644,
  });

  it("answers two requests naming the same generation with a delta, then a whole manifest", () => {
    const sent = new SentManifests();
    const before: Manifest = new Map([
      ["a", file("a")],
      ["b", file("b")],
    ]);
    const full = sent.next("/workspace", before, undefined);
    expect(full.delta).toBe(false);
    expect(full.lines).toHaveLength(2);
    const after: Manifest = new Map<string, ManifestEntry>([
      ["a", file("c")],
      ["n", { type: "symlink", target: "a" }],
    ]);
    const delta = sent.next("/workspace", after, full.generation);
    expect(delta.delta).toBe(true);
    expect(delta.lines).toEqual([
      `${JSON.stringify(["a", "f", 1, "c".repeat(64), 0o644])}\n`,
      `${JSON.stringify(["n", "l", "a"])}\n`,
      `${JSON.stringify(["b", "-"])}\n`,
    ]);
    expect(applyManifestDelta(before, delta.lines.join(""))).toEqual(after);
    // The same `since` again: no longer current, so the whole manifest.
    const again = sent.next("/workspace", after, full.generation);
    expect(again.delta).toBe(false);
    expect(again.lines).toHaveLength(2);
    // Another agent process never shares generations with this one.
    expect(new SentManifests().next("/workspace", after, again.generation).delta).toBe(false);
  });

  it("refuses malformed and escaping delta lines from a guest", () => {
    const base: Manifest = new Map([["a", file("a")]]);
    expect(() => applyManifestDelta(base, '["../etc/passwd","-"]\n')).toThrow(
      "malformed manifest line",
    );
    expect(() => applyManifestDelta(base, '["/abs","-"]\n')).toThrow("malformed manifest line");
    expect(() => applyManifestDelta(base, '["a","f",1,"zz"]\n')).toThrow("malformed manifest line");
    expect(() => applyManifestDelta(base, "not json\n")).toThrow();
    expect(applyManifestDelta(base, "")).toEqual(base);
  });
});
