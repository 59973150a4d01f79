/**
 * The host's cache of changed files' bodies (src/core/diff-bodies.ts): a diff fetches from
 * the sandbox only contents it has not seen, uses a cached body only when its digest is the
 * manifest's, and leaves exactly the bodies it used. End to end on the host backend: a diff
 * through the cache equals one fetched whole.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { bodiesThroughCache } from "../src/core/diff-bodies.js";
import { useTempState, writeTree } from "./helpers.js";

const state = useTempState();

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A sandbox of `files` (path -> content), answering fetches and counting what they asked. */
function sandbox(files: Record<string, string>) {
  const asked: string[][] = [];
  const fetch = async (paths: string[]) => {
    asked.push([...paths]);
    const bodies = new Map<string, Buffer>();
    for (const file of paths) {
      const content = files[file];
      if (content !== undefined) bodies.set(file, Buffer.from(content));
    }
    return bodies;
  };
  const wanted = (...names: string[]) =>
    new Map(names.map((name) => [name, sha256(files[name] ?? "")]));
  return { files, asked, fetch, wanted };
}

const text = (bodies: Map<string, Buffer>) =>
  Object.fromEntries([...bodies].map(([file, body]) => [file, body.toString()]));

describe("the diff body cache", () => {
  it("fetches only contents it has not seen", async () => {
    const dir = path.join(state.base(), "bodies");
    const box = sandbox({ "a.txt": "one\n", "b.txt": "two\n", "c.txt": "three\n" });
    const first = await bodiesThroughCache(dir, box.wanted("a.txt", "b.txt"), box.fetch);
    expect(text(first)).toEqual({ "a.txt": "one\n", "b.txt": "two\n" });
    expect(box.asked).toEqual([["a.txt", "b.txt"]]);

    const second = await bodiesThroughCache(dir, box.wanted("a.txt", "b.txt", "c.txt"), box.fetch);
    expect(text(second)).toEqual({ "a.txt": "one\n", "b.txt": "two\n", "c.txt": "three\n" });
    expect(box.asked[1]).toEqual(["c.txt"]);

    // Content moves with its digest, not its path.
    box.files["d.txt"] = "one\n";
    box.files["a.txt"] = "changed\n";
    const third = await bodiesThroughCache(dir, box.wanted("a.txt", "d.txt"), box.fetch);
    expect(text(third)).toEqual({ "a.txt": "changed\n", "d.txt": "one\n" });
    expect(box.asked[2]).toEqual(["a.txt"]);
    // What is left is exactly what the last diff used.
    expect(fs.readdirSync(dir).sort()).toEqual([sha256("changed\n"), sha256("one\n")].sort());
  });

  it("never serves a body whose content is not its digest's", async () => {
    const dir = path.join(state.base(), "bodies");
    const box = sandbox({ "a.txt": "one\n", "b.txt": "two\n" });
    await bodiesThroughCache(dir, box.wanted("a.txt", "b.txt"), box.fetch);
    // Tampered, torn, and a stray temp of a writer killed midway.
    fs.writeFileSync(path.join(dir, sha256("one\n")), "not one\n");
    fs.writeFileSync(path.join(dir, sha256("two\n")), "tw");
    fs.writeFileSync(path.join(dir, `.${sha256("two\n")}.123-abcdef`), "two\n");
    const again = await bodiesThroughCache(dir, box.wanted("a.txt", "b.txt"), box.fetch);
    expect(text(again)).toEqual({ "a.txt": "one\n", "b.txt": "two\n" });
    expect(box.asked[1]).toEqual(["a.txt", "b.txt"]);
    expect(fs.readdirSync(dir).sort()).toEqual([sha256("one\n"), sha256("two\n")].sort());
    expect(fs.readFileSync(path.join(dir, sha256("one\n")), "utf8")).toBe("one\n");
  });

  it("does not keep a body that changed between the manifest and the fetch", async () => {
    const dir = path.join(state.base(), "bodies");
    const box = sandbox({ "a.txt": "one\n" });
    const wanted = box.wanted("a.txt");
    box.files["a.txt"] = "written meanwhile\n";
    const bodies = await bodiesThroughCache(dir, wanted, box.fetch);
    expect(text(bodies)).toEqual({ "a.txt": "written meanwhile\n" });
    expect(fs.readdirSync(dir)).toEqual([]);
    await bodiesThroughCache(dir, wanted, box.fetch);
    expect(box.asked).toEqual([["a.txt"], ["a.txt"]]);
  });
});

describe("workspace_diff through the body cache (host backend)", () => {
  it("gives the diff a fetch of every body gives", async () => {
    const manager = state.manager();
    const seed = path.join(state.base(), "seed");
    writeTree(seed, { "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n" });
    const { workspace_id: id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seed,
    });
    const bodiesDir = path.join(state.stateDir(), "workspaces", id, "diff-bodies");
    await manager.execWorkspace(id, { command: "echo more >> a.txt; echo new > n.txt" });
    const first = await manager.diffWorkspace(id);
    expect(first.patch).toContain("+more\n");
    expect(fs.readdirSync(bodiesDir)).toHaveLength(2);

    const cached = await manager.diffWorkspace(id);
    expect(cached).toEqual(first);
    // Every body wrong on disk: all fetched again, the same diff.
    for (const name of fs.readdirSync(bodiesDir)) {
      fs.writeFileSync(path.join(bodiesDir, name), "wrong\n");
    }
    expect(await manager.diffWorkspace(id)).toEqual(first);

    await manager.execWorkspace(id, { command: "echo again >> a.txt; echo b2 > b.txt" });
    const later = await manager.diffWorkspace(id);
    fs.rmSync(bodiesDir, { recursive: true });
    expect(await manager.diffWorkspace(id)).toEqual(later);
    expect(later.patch).toContain("+again\n");
    expect(later.patch).toContain("+b2\n");
  });
});
