import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdirSync, promises as fs, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Server } from "node:net";
import os from "node:os";
import path from "node:path";
import * as tar from "tar";
import { normalizeTarPath, treeFromTar } from "../src/diff/index.js";
import { diffTrees, treeFromDirectory } from "./tree-oracle.js";
import type { Tree, TreeEntry, WorkspaceDiff } from "../src/diff/index.js";

type Spec = Record<string, string | Buffer | { symlink: string } | { dir: true }>;

let root: string;
let counter = 0;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "pyro-diff-test-"));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function freshDir(label: string): Promise<string> {
  const dir = path.join(root, `${label}-${counter++}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** Materialise a spec into a new directory. Keys use POSIX separators. */
async function writeSpec(label: string, spec: Spec): Promise<string> {
  const dir = await freshDir(label);
  for (const [rel, value] of Object.entries(spec)) {
    const abs = path.join(dir, ...rel.split("/"));
    await fs.mkdir(path.dirname(abs), { recursive: true });
    if (typeof value === "string" || Buffer.isBuffer(value)) {
      await fs.writeFile(abs, value);
    } else if ("symlink" in value) {
      await fs.symlink(value.symlink, abs);
    } else {
      await fs.mkdir(abs, { recursive: true });
    }
  }
  return dir;
}

async function tarDir(dir: string, gzip = false): Promise<string> {
  const file = path.join(root, `archive-${counter++}.tar${gzip ? ".gz" : ""}`);
  await tar.c({ cwd: dir, file, gzip }, ["."]);
  return file;
}

interface CraftedMember {
  path: string;
  type: "File" | "Directory" | "SymbolicLink" | "Link" | "FIFO" | "CharacterDevice";
  body?: string;
  linkpath?: string;
}

/** Build an uncompressed tar archive member by member, in exactly the given order. */
function craftTar(members: CraftedMember[]): Buffer {
  const blocks: Buffer[] = [];
  for (const member of members) {
    const body = Buffer.from(member.body ?? "");
    const header = new tar.Header({
      path: member.path,
      type: member.type,
      size: body.length,
      mode: member.type === "Directory" ? 0o755 : 0o644,
      mtime: new Date(0),
      ...(member.linkpath === undefined ? {} : { linkpath: member.linkpath }),
    });
    header.encode();
    if (!header.block) throw new Error("header did not encode");
    blocks.push(header.block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

interface Sides {
  fromDirs: WorkspaceDiff;
  fromTarFiles: WorkspaceDiff;
  fromTarBuffers: WorkspaceDiff;
  fromGzip: WorkspaceDiff;
}

/** Diff two specs through every loader combination. */
async function diffAllWays(baseline: Spec, current: Spec): Promise<Sides> {
  const baseDir = await writeSpec("base", baseline);
  const curDir = await writeSpec("cur", current);
  const baseTar = await tarDir(baseDir);
  const curTar = await tarDir(curDir);
  const baseTgz = await tarDir(baseDir, true);
  const curTgz = await tarDir(curDir, true);
  return {
    fromDirs: diffTrees(await treeFromDirectory(baseDir), await treeFromDirectory(curDir)),
    fromTarFiles: diffTrees(await treeFromTar(baseTar), await treeFromTar(curTar)),
    fromTarBuffers: diffTrees(
      await treeFromTar(await fs.readFile(baseTar)),
      await treeFromTar(await fs.readFile(curTar)),
    ),
    fromGzip: diffTrees(await treeFromTar(baseTgz), await treeFromTar(curTgz)),
  };
}

/** Diff two specs, asserting every loader agrees, and return the common result. */
async function diffSpecs(baseline: Spec, current: Spec): Promise<WorkspaceDiff> {
  const sides = await diffAllWays(baseline, current);
  expect(sides.fromTarFiles).toEqual(sides.fromDirs);
  expect(sides.fromTarBuffers).toEqual(sides.fromDirs);
  expect(sides.fromGzip).toEqual(sides.fromDirs);
  return sides.fromDirs;
}

const EMPTY_DIFF: WorkspaceDiff = {
  changed: false,
  summary: {
    total: 0,
    added: 0,
    modified: 0,
    deleted: 0,
    type_changed: 0,
    mode_changed: 0,
    text_patched: 0,
    non_text: 0,
  },
  entries: [],
  patch: "",
};

const REFERENCE_BASELINE: Spec = {
  "modified.txt": "before\n",
  "deleted.txt": "gone\n",
  "binary.bin": Buffer.from("\x00before", "latin1"),
  link: { symlink: "link-target-old.txt" },
  swap: { dir: true },
  "removed-empty": { dir: true },
};

const REFERENCE_CURRENT: Spec = {
  "modified.txt": "after\n",
  "added.txt": "new\n",
  "binary.bin": Buffer.from("\x00after", "latin1"),
  link: { symlink: "link-target-new.txt" },
  swap: "type changed\n",
  "added-empty": { dir: true },
};

describe("diffTrees: reference case", () => {
  it("matches the reference summary, entries and patch", async () => {
    const diff = await diffSpecs(REFERENCE_BASELINE, REFERENCE_CURRENT);

    expect(diff.changed).toBe(true);
    expect(diff.summary).toEqual({
      total: 8,
      added: 2,
      modified: 3,
      deleted: 2,
      type_changed: 1,
      mode_changed: 0,
      text_patched: 3,
      non_text: 5,
    });

    const byPath = new Map(diff.entries.map((e) => [e.path, e]));
    expect(diff.entries.map((e) => e.path)).toEqual([
      "added-empty",
      "added.txt",
      "binary.bin",
      "deleted.txt",
      "link",
      "modified.txt",
      "removed-empty",
      "swap",
    ]);
    expect(diff.entries.map((e) => [e.path, e.status, e.artifact_type])).toEqual([
      ["added-empty", "added", "directory"],
      ["added.txt", "added", "file"],
      ["binary.bin", "modified", "file"],
      ["deleted.txt", "deleted", "file"],
      ["link", "modified", "symlink"],
      ["modified.txt", "modified", "file"],
      ["removed-empty", "deleted", "directory"],
      ["swap", "type_changed", "file"],
    ]);
    expect(byPath.get("binary.bin")?.text_patch).toBeNull();
    expect(byPath.get("link")?.text_patch).toBeNull();
    expect(byPath.get("swap")?.text_patch).toBeNull();
    expect(byPath.get("added-empty")?.text_patch).toBeNull();
    expect(byPath.get("removed-empty")?.text_patch).toBeNull();

    for (const needle of [
      "--- a/modified.txt",
      "+++ b/modified.txt",
      "--- /dev/null",
      "+++ b/added.txt",
      "--- a/deleted.txt",
      "+++ /dev/null",
    ]) {
      expect(diff.patch).toContain(needle);
    }

    expect(byPath.get("modified.txt")?.text_patch).toBe(
      "--- a/modified.txt\n+++ b/modified.txt\n@@ -1,1 +1,1 @@\n-before\n+after\n",
    );
    expect(byPath.get("added.txt")?.text_patch).toBe(
      "--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1,1 @@\n+new\n",
    );
    expect(byPath.get("deleted.txt")?.text_patch).toBe(
      "--- a/deleted.txt\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-gone\n",
    );
    // Patch = text patches concatenated in entry (path) order.
    expect(diff.patch).toBe(
      [
        byPath.get("added.txt")?.text_patch,
        byPath.get("deleted.txt")?.text_patch,
        byPath.get("modified.txt")?.text_patch,
      ].join(""),
    );
    // No tab-separated header suffix, no Index:/==== lines.
    expect(diff.patch).not.toContain("\t");
    expect(diff.patch).not.toContain("Index:");
    expect(diff.patch).not.toContain("====");
  });
});

describe("diffTrees: rules", () => {
  it("gives an all-zero result for identical trees", async () => {
    const diff = await diffSpecs(REFERENCE_BASELINE, REFERENCE_BASELINE);
    expect(diff).toEqual(EMPTY_DIFF);
  });

  it("gives an all-zero result for two empty trees", () => {
    expect(diffTrees(new Map(), new Map())).toEqual(EMPTY_DIFF);
  });

  it("treats a file replaced by a non-empty directory as delete + add", async () => {
    const diff = await diffSpecs({ thing: "was a file\n" }, { "thing/child.txt": "child\n" });
    expect(diff.entries.map((e) => [e.path, e.status, e.artifact_type])).toEqual([
      ["thing", "deleted", "file"],
      ["thing/child.txt", "added", "file"],
    ]);
    expect(diff.summary).toMatchObject({ total: 2, added: 1, deleted: 1, type_changed: 0 });
    expect(diff.patch).toBe(
      "--- a/thing\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-was a file\n" +
        "--- /dev/null\n+++ b/thing/child.txt\n@@ -0,0 +1,1 @@\n+child\n",
    );
  });

  it("treats a file replaced by an empty directory as a type change", async () => {
    const diff = await diffSpecs({ thing: "was a file\n" }, { thing: { dir: true } });
    expect(diff.entries).toEqual([
      {
        path: "thing",
        status: "type_changed",
        artifact_type: "directory",
        text_patch: null,
        old_mode: null,
        new_mode: null,
      },
    ]);
    expect(diff.patch).toBe("");
  });

  it("treats a symlink replaced by a file as a type change", async () => {
    const diff = await diffSpecs({ l: { symlink: "t" } }, { l: "t" });
    expect(diff.entries).toEqual([
      {
        path: "l",
        status: "type_changed",
        artifact_type: "file",
        text_patch: null,
        old_mode: null,
        new_mode: null,
      },
    ]);
  });

  it("reports only the leaf of a nested added empty directory", async () => {
    const diff = await diffSpecs(
      { "keep.txt": "k\n" },
      { "keep.txt": "k\n", "a/b/c": { dir: true } },
    );
    expect(diff.entries).toEqual([
      {
        path: "a/b/c",
        status: "added",
        artifact_type: "directory",
        text_patch: null,
        old_mode: null,
        new_mode: null,
      },
    ]);
    expect(diff.summary).toMatchObject({ total: 1, added: 1, non_text: 1 });
  });

  it("an empty directory that gains a child is deleted as an entry", async () => {
    const diff = await diffSpecs({ a: { dir: true } }, { "a/b": { dir: true } });
    expect(diff.entries.map((e) => [e.path, e.status, e.artifact_type])).toEqual([
      ["a", "deleted", "directory"],
      ["a/b", "added", "directory"],
    ]);
  });

  it("ignores a non-empty directory whose children are unchanged", async () => {
    const diff = await diffSpecs(
      { "d/x.txt": "x\n", "d/y.txt": "y\n" },
      { "d/x.txt": "x\n", "d/y.txt": "Y\n" },
    );
    expect(diff.entries.map((e) => e.path)).toEqual(["d/y.txt"]);
  });

  it("handles files without a trailing newline", async () => {
    const diff = await diffSpecs({ "f.txt": "one\ntwo" }, { "f.txt": "one\nthree" });
    expect(diff.entries[0]?.text_patch).toBe(
      "--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n one\n-two\n\\ No newline at end of file\n" +
        "+three\n\\ No newline at end of file\n",
    );
  });

  it("handles a newline added at the end of a file", async () => {
    const diff = await diffSpecs({ "f.txt": "x" }, { "f.txt": "x\n" });
    expect(diff.entries[0]?.text_patch).toBe(
      "--- a/f.txt\n+++ b/f.txt\n@@ -1,1 +1,1 @@\n-x\n\\ No newline at end of file\n+x\n",
    );
  });

  it("uses three lines of context and separate hunks", async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const changed = [...lines];
    changed[1] = "LINE 2";
    changed[17] = "LINE 18";
    const diff = await diffSpecs(
      { "f.txt": lines.join("\n") + "\n" },
      { "f.txt": changed.join("\n") + "\n" },
    );
    const patch = diff.entries[0]?.text_patch ?? "";
    expect(patch.match(/^@@ .* @@$/gm)).toEqual(["@@ -1,5 +1,5 @@", "@@ -15,6 +15,6 @@"]);
  });

  it("gives empty added/deleted text files a header-only patch", async () => {
    const diff = await diffSpecs({ "old-empty": "" }, { "new-empty": "" });
    expect(diff.entries).toEqual([
      {
        path: "new-empty",
        status: "added",
        artifact_type: "file",
        text_patch: "--- /dev/null\n+++ b/new-empty\n",
        old_mode: null,
        new_mode: null,
      },
      {
        path: "old-empty",
        status: "deleted",
        artifact_type: "file",
        text_patch: "--- a/old-empty\n+++ /dev/null\n",
        old_mode: null,
        new_mode: null,
      },
    ]);
    expect(diff.summary).toMatchObject({ text_patched: 2, non_text: 0 });
  });

  it("treats invalid UTF-8 and NUL bytes as binary, valid multi-byte UTF-8 as text", async () => {
    const diff = await diffSpecs(
      {
        "latin1.txt": Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]),
        "nul.txt": "a\x00b\n",
        "utf8.txt": "café ☕ 🚀\n",
        "bom.txt": "\ufeffhello\n",
      },
      {
        "latin1.txt": Buffer.from([0x74, 0x68, 0xe9, 0x0a]),
        "nul.txt": "a\x00c\n",
        "utf8.txt": "café 🍵 🚀\n",
        "bom.txt": "\ufeffworld\n",
      },
    );
    const patches = Object.fromEntries(diff.entries.map((e) => [e.path, e.text_patch]));
    expect(patches["latin1.txt"]).toBeNull();
    expect(patches["nul.txt"]).toBeNull();
    expect(patches["utf8.txt"]).toBe(
      "--- a/utf8.txt\n+++ b/utf8.txt\n@@ -1,1 +1,1 @@\n-café ☕ 🚀\n+café 🍵 🚀\n",
    );
    expect(patches["bom.txt"]).toBe(
      "--- a/bom.txt\n+++ b/bom.txt\n@@ -1,1 +1,1 @@\n-\ufeffhello\n+\ufeffworld\n",
    );
    expect(diff.summary).toMatchObject({ total: 4, modified: 4, text_patched: 2, non_text: 2 });
  });

  it("gives a null patch when a text file becomes binary", async () => {
    const diff = await diffSpecs({ f: "text\n" }, { f: Buffer.from([0xff, 0xfe, 0x00]) });
    expect(diff.entries).toEqual([
      {
        path: "f",
        status: "modified",
        artifact_type: "file",
        text_patch: null,
        old_mode: null,
        new_mode: null,
      },
    ]);
  });

  it("sorts entries by plain string comparison", () => {
    const file = (s: string) => ({ type: "file" as const, content: Buffer.from(s) });
    const current: Tree = new Map<string, TreeEntry>([
      ["b", file("b")],
      ["a/z", file("z")],
      ["B", file("B")],
      ["a-b", file("ab")],
      ["a", { type: "directory" }],
    ]);
    const diff = diffTrees(new Map(), current);
    expect(diff.entries.map((e) => e.path)).toEqual(["B", "a-b", "a/z", "b"]);
  });
});

describe("treeFromDirectory / treeFromTar", () => {
  it("produce the same tree", async () => {
    const dir = await writeSpec("same", {
      ...REFERENCE_CURRENT,
      "nested/deep/file.txt": "deep\n",
      "nested/empty": { dir: true },
      "nested/rel-link": { symlink: "../added.txt" },
    });
    const fromDir = await treeFromDirectory(dir);
    const archive = await tarDir(dir);
    expect(await treeFromTar(archive)).toEqual(fromDir);
    expect(await treeFromTar(await fs.readFile(archive))).toEqual(fromDir);
    expect(await treeFromTar(await tarDir(dir, true))).toEqual(fromDir);

    expect([...fromDir.keys()].sort()).toEqual([
      "added-empty",
      "added.txt",
      "binary.bin",
      "link",
      "modified.txt",
      "nested",
      "nested/deep",
      "nested/deep/file.txt",
      "nested/empty",
      "nested/rel-link",
      "swap",
    ]);
    expect(fromDir.get("nested")).toEqual({ type: "directory" });
    expect(fromDir.get("nested/rel-link")).toEqual({ type: "symlink", target: "../added.txt" });
    expect(fromDir.get("binary.bin")).toEqual({
      type: "file",
      content: Buffer.from("\x00after", "latin1"),
      mode: 0o644,
    });
  });

  it("never follows symlinks, even to directories", async () => {
    const outside = await writeSpec("outside", { "secret.txt": "s\n" });
    const dir = await writeSpec("links", {
      "to-dir": { symlink: outside },
      dangling: { symlink: "does/not/exist" },
    });
    const tree = await treeFromDirectory(dir);
    expect(tree).toEqual(
      new Map([
        ["to-dir", { type: "symlink", target: outside }],
        ["dangling", { type: "symlink", target: "does/not/exist" }],
      ]),
    );
  });

  it.skipIf(process.platform === "win32")("skips sockets", async () => {
    const dir = await writeSpec("socket", { "real.txt": "r\n" });
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, "sock"), resolve));
    try {
      const tree = await treeFromDirectory(dir);
      expect([...tree.keys()]).toEqual(["real.txt"]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("rejects for a missing directory", async () => {
    await expect(treeFromDirectory(path.join(root, "nope"))).rejects.toThrow(/ENOENT/);
  });

  it("resolves hard links in an archive to their target's content, in any order", async () => {
    // Crafted by hand: node-tar's own Pack is unreliable with real hard links.
    const archive = craftTar([
      { path: "./", type: "Directory" },
      { path: "./orig.txt", type: "File", body: "shared\n" },
      { path: "./alias.txt", type: "Link", linkpath: "./orig.txt" },
      { path: "./early.txt", type: "Link", linkpath: "./late.txt" }, // link before target
      { path: "./chain3", type: "Link", linkpath: "./chain2" },
      { path: "./chain2", type: "Link", linkpath: "./late.txt" },
      { path: "./late.txt", type: "File", body: "late\n" },
      { path: "./dangling", type: "Link", linkpath: "./missing" },
      { path: "./loop-a", type: "Link", linkpath: "./loop-b" },
      { path: "./loop-b", type: "Link", linkpath: "./loop-a" },
      { path: "./replaced", type: "Link", linkpath: "./late.txt" },
      { path: "./replaced", type: "File", body: "mine\n" },
    ]);
    const file = (body: string) => ({ type: "file", content: Buffer.from(body), mode: 0o644 });
    expect(await treeFromTar(archive)).toEqual(
      new Map([
        ["orig.txt", file("shared\n")],
        ["alias.txt", file("shared\n")],
        ["late.txt", file("late\n")],
        ["early.txt", file("late\n")],
        ["chain2", file("late\n")],
        ["chain3", file("late\n")],
        ["replaced", file("mine\n")],
      ]),
    );
  });

  it("normalises names and skips the root, .. paths, devices and FIFOs", async () => {
    const archive = craftTar([
      { path: ".", type: "Directory" },
      { path: "plain/", type: "Directory" },
      { path: "plain//file.txt", type: "File", body: "p\n" },
      { path: "/absolute.txt", type: "File", body: "a\n" },
      { path: "./dotted/", type: "Directory" },
      { path: "../escape.txt", type: "File", body: "e\n" },
      { path: "./fifo", type: "FIFO" },
      { path: "./null", type: "CharacterDevice" },
      { path: "./sym", type: "SymbolicLink", linkpath: "plain/file.txt" },
    ]);
    expect(await treeFromTar(archive)).toEqual(
      new Map<string, TreeEntry>([
        ["plain", { type: "directory" }],
        ["plain/file.txt", { type: "file", content: Buffer.from("p\n"), mode: 0o644 }],
        ["absolute.txt", { type: "file", content: Buffer.from("a\n"), mode: 0o644 }],
        ["dotted", { type: "directory" }],
        ["sym", { type: "symlink", target: "plain/file.txt" }],
      ]),
    );
  });

  it("normalises member names from archives built without ./", async () => {
    const dir = await writeSpec("plain", { "a/b.txt": "b\n", "c/d": { dir: true } });
    const file = path.join(root, `plain-${counter++}.tar`);
    await tar.c({ cwd: dir, file }, ["a", "c"]);
    const tree = await treeFromTar(file);
    expect([...tree.keys()].sort()).toEqual(["a", "a/b.txt", "c", "c/d"]);
    expect(tree).toEqual(await treeFromDirectory(dir));
  });

  it("rejects garbage and truncated archives", async () => {
    await expect(treeFromTar(Buffer.from("this is not a tar archive at all"))).rejects.toThrow();
    const dir = await writeSpec("trunc", { "big.bin": Buffer.alloc(64 * 1024, 7) });
    const full = await fs.readFile(await tarDir(dir));
    await expect(treeFromTar(full.subarray(0, 4096))).rejects.toThrow();
    await expect(treeFromTar(path.join(root, "missing.tar"))).rejects.toThrow(/ENOENT/);
  });

  it("applies node-tar's decompression-ratio guard unless told otherwise", async () => {
    const dir = await writeSpec("zeros", { "zeros.bin": Buffer.alloc(8 * 1024 * 1024) });
    const archive = await tarDir(dir, true);
    await expect(treeFromTar(archive)).rejects.toThrow(/decompression ratio/);
    const tree = await treeFromTar(archive, { maxDecompressionRatio: Infinity });
    const entry = tree.get("zeros.bin");
    // Not toEqual: vitest compares Buffers element by element, which is very slow at 8 MiB.
    expect(entry?.type === "file" && entry.content.equals(Buffer.alloc(8 * 1024 * 1024))).toBe(
      true,
    );
  });

  it("normalizeTarPath strips ./, slashes and the root, and refuses ..", () => {
    expect(normalizeTarPath("./")).toBeNull();
    expect(normalizeTarPath(".")).toBeNull();
    expect(normalizeTarPath("./a/b/")).toBe("a/b");
    expect(normalizeTarPath("a//b")).toBe("a/b");
    expect(normalizeTarPath("/abs/x")).toBe("abs/x");
    expect(normalizeTarPath("../escape")).toBeNull();
    expect(normalizeTarPath("a/../../b")).toBeNull();
  });
});

describe("performance", () => {
  // Creating 10,000 files dominates this test on slow disks, hence the timeout.
  it("diffs a 10,000-file tree with 100 changes quickly", { timeout: 120_000 }, async () => {
    const base = await freshDir("perf-base");
    const bodies: string[] = [];
    for (let d = 0; d < 100; d++) {
      mkdirSync(path.join(base, `dir${d}`));
      for (let i = d; i < 10_000; i += 100) {
        const body = `file ${i}\n`.repeat(20);
        bodies[i] = body;
        writeFileSync(path.join(base, `dir${d}`, `file${i}.txt`), body);
      }
    }
    const archive = await tarDir(base, true);

    let started = performance.now();
    const baseline = await treeFromDirectory(base);
    const dirMs = performance.now() - started;
    started = performance.now();
    const fromTar = await treeFromTar(archive);
    const tarMs = performance.now() - started;
    expect(baseline.size).toBe(10_100);
    expect(fromTar.size).toBe(10_100);

    // The current side: same tree with 100 files edited.
    const current: Tree = new Map(fromTar);
    for (let i = 0; i < 10_000; i += 100) {
      current.set(`dir${i % 100}/file${i}.txt`, {
        type: "file",
        content: Buffer.from(`${bodies[i]}changed\n`),
      });
    }
    started = performance.now();
    const diff = diffTrees(baseline, current);
    const diffMs = performance.now() - started;

    expect(diff.summary).toMatchObject({ total: 100, modified: 100, text_patched: 100 });
    expect(diff.entries[0]?.text_patch).toContain("+changed\n");
    // Generous bounds for loaded CI machines: each is a few hundred ms or less.
    expect(dirMs).toBeLessThan(10_000);
    expect(tarMs).toBeLessThan(10_000);
    expect(diffMs).toBeLessThan(2_000);
  });
});
