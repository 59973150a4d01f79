/**
 * Symlinks planted in /workspace must never make an operation read or write outside it.
 * Host backend, real agent: there the workspace is a host directory, so following a link
 * reads or writes the host itself. The "outside" directory stands for the host's /etc.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { execFileSync } from "node:child_process";

import * as tar from "tar";
import { describe, expect, it } from "vitest";

import { exportPath } from "../src/archive/index.js";
import { loadWorkspace } from "../src/core/records-io.js";
import { decodeManifest, treeFromTar } from "../src/diff/index.js";
import type { Manager } from "../src/core/manager.js";
import { useTempState, writeTree } from "./helpers.js";
import { TAR_MODES, useTarMode } from "./tar-modes.js";

const state = useTempState();
const SECRET = "TOP-SECRET-host-file-contents";

/** A host directory outside every workspace, holding a secret file. */
function outsideDir(): string {
  return writeTree(path.join(state.base(), "outside"), { "secret.txt": `${SECRET}\n` });
}

async function startedWorkspace(manager: Manager): Promise<string> {
  const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
  return workspace_id;
}

async function run(manager: Manager, id: string, command: string): Promise<void> {
  const result = await manager.execWorkspace(id, { command });
  expect(result.stderr).toBe("");
  expect(result.exit_code).toBe(0);
}

/** Calls the workspace's agent directly (ops the manager only uses internally). */
async function agentRequest(
  manager: Manager,
  id: string,
  op: "archive.export" | "tree.manifest" | "files.read",
  body: { path?: string; paths?: string[] },
): Promise<{ result: Record<string, unknown>; data: Buffer }> {
  const record = await loadWorkspace(manager.context.layout, id);
  if (!record.runtime) throw new Error("workspace has no runtime");
  const chunks: Buffer[] = [];
  const client = await manager.context.pool.get(record.runtime);
  // Unchecked on purpose: these tests send paths the host-side callers never would.
  const result = await client.requestRaw(op, body, {
    onData: (chunk) => void chunks.push(chunk),
  });
  return { result, data: Buffer.concat(chunks) };
}

/** Every path below `dir`, never descending into a symlink. */
function listTree(dir: string, prefix = ""): string[] {
  const names: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    names.push(rel);
    if (entry.isDirectory()) names.push(...listTree(path.join(dir, entry.name), `${rel}/`));
  }
  return names.sort();
}

describe("workspace export never reads through a symlink", () => {
  it("refuses a path below a symlinked directory (dir -> /etc, export dir/passwd)", async () => {
    const manager = state.manager();
    const outside = outsideDir();
    const id = await startedWorkspace(manager);
    await run(manager, id, `ln -s '${outside}' dir`);
    const output = path.join(state.base(), "exported-secret.txt");
    const attempt = manager.exportWorkspace(id, { path: "dir/secret.txt", output_path: output });
    await expect(attempt).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(attempt).rejects.toThrow(
      "path must not pass through a symlink: 'dir' is a symlink",
    );
    expect(fs.existsSync(output)).toBe(false);
  });

  it("exports a symlink to a directory outside as the symlink, not its target", async () => {
    const manager = state.manager();
    const outside = outsideDir();
    const id = await startedWorkspace(manager);
    await run(manager, id, `ln -s '${outside}' link && mkdir sub && ln -s '${outside}' sub/link`);

    const single = path.join(state.base(), "single");
    const exported = await manager.exportWorkspace(id, { path: "link", output_path: single });
    expect(exported.artifact_type).toBe("symlink");
    expect(fs.lstatSync(single).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(single)).toBe(outside);

    const whole = path.join(state.base(), "whole");
    await manager.exportWorkspace(id, { path: "/workspace", output_path: whole });
    expect(listTree(whole)).toEqual(["link", "sub", "sub/link"]);
    expect(fs.readlinkSync(path.join(whole, "sub", "link"))).toBe(outside);

    const nested = path.join(state.base(), "nested");
    await manager.exportWorkspace(id, { path: "sub", output_path: nested });
    expect(listTree(nested)).toEqual(["link"]);
    expect(fs.lstatSync(path.join(nested, "link")).isSymbolicLink()).toBe(true);
  });
});

describe("sync push never writes through a symlink", () => {
  it("refuses a dest that is, or lies below, a symlink or a file", async () => {
    const manager = state.manager();
    const outside = outsideDir();
    const before = listTree(outside);
    const id = await startedWorkspace(manager);
    await run(manager, id, `ln -s '${outside}' out && mkdir real && ln -s ../out real/link`);
    await run(manager, id, "printf 'data\\n' > plain.txt");
    const source = writeTree(path.join(state.base(), "source"), { "planted.txt": "planted\n" });

    for (const [dest, component] of [
      ["out", "/workspace/out"],
      ["out/deeper/still", "/workspace/out"],
      ["/workspace/real/link", "/workspace/real/link"],
      ["real/link/sub", "/workspace/real/link"],
    ] as const) {
      const attempt = manager.pushWorkspaceSync(id, { source_path: source, dest });
      await expect(attempt).rejects.toMatchObject({ code: "invalid_argument" });
      await expect(attempt).rejects.toThrow(
        `dest must not pass through a symlink: '${component}' is a symlink`,
      );
    }
    await expect(
      manager.pushWorkspaceSync(id, { source_path: source, dest: "plain.txt/sub" }),
    ).rejects.toThrow(
      "dest must only pass through directories: '/workspace/plain.txt' is not a directory",
    );
    // Nothing landed outside, not even an empty directory.
    expect(listTree(outside)).toEqual(before);

    // A missing destination is still created, below real directories.
    const pushed = await manager.pushWorkspaceSync(id, { source_path: source, dest: "real/a/b" });
    expect(pushed.workspace_sync.destination).toBe("/workspace/real/a/b");
    const cat = await manager.execWorkspace(id, { command: "cat real/a/b/planted.txt" });
    expect(cat.stdout).toBe("planted\n");
  });
});

describe("files.read and the diff never read through a symlink", () => {
  it("files.read leaves out files below symlinks and symlinks themselves", async () => {
    const manager = state.manager();
    const outside = outsideDir();
    const id = await startedWorkspace(manager);
    await run(
      manager,
      id,
      `ln -s '${outside}' dir && ln -s '${outside}/secret.txt' link.txt && printf 'mine\\n' > own.txt`,
    );
    const { result, data } = await agentRequest(manager, id, "files.read", {
      paths: ["dir/secret.txt", "link.txt", "own.txt"],
    });
    expect(result).toEqual({
      count: 1,
      missing: ["/workspace/dir/secret.txt", "/workspace/link.txt"],
    });
    const tree = await treeFromTar(data);
    expect([...tree.keys()]).toEqual(["own.txt"]);
    expect(data.toString("latin1")).not.toContain(SECRET);
  });

  it("tree.manifest refuses a path through a symlink", async () => {
    const manager = state.manager();
    const outside = outsideDir();
    const id = await startedWorkspace(manager);
    await run(manager, id, `ln -s '${outside}' dir`);
    await expect(
      agentRequest(manager, id, "tree.manifest", { path: "/workspace/dir" }),
    ).rejects.toThrow("path must not pass through a symlink: '/workspace/dir' is a symlink");
  });

  it(
    "never leaks a host file into a diff while a directory and a file are swapped for symlinks",
    { timeout: 120_000 },
    async () => {
      const manager = state.manager();
      const outside = outsideDir();
      const secretDigest = createHash("sha256").update(`${SECRET}\n`).digest("hex");
      const id = await startedWorkspace(manager);
      // `dir` flips between a real directory holding a decoy secret.txt and a symlink to
      // the outside directory; `file.txt` between a regular file holding a decoy and a
      // symlink to the outside secret (replaced by rename, so it never vanishes). What is
      // not in /workspace waits in a stash beside it (same filesystem, for rename). Node
      // flips them thousands of times a second, so every diff races the swaps.
      const stash = path.join(state.base(), "stash");
      fs.mkdirSync(path.join(stash, "hold"), { recursive: true });
      fs.writeFileSync(path.join(stash, "hold", "secret.txt"), "decoy\n");
      const swapper = path.join(state.base(), "swapper.cjs");
      fs.writeFileSync(
        swapper,
        `const fs = require("node:fs");
const S = ${JSON.stringify(stash)}, O = ${JSON.stringify(outside)};
const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = () => Atomics.wait(pause, 0, 0, Math.random() * 15);
fs.writeFileSync("file.txt", "decoy\\n");
for (;;) {
  fs.rmSync("dir", { force: true });
  fs.renameSync(S + "/hold", "dir");
  fs.symlinkSync(O + "/secret.txt", S + "/fl");
  fs.renameSync(S + "/fl", "file.txt");
  sleep();
  fs.renameSync("dir", S + "/hold");
  fs.symlinkSync(O, "dir");
  fs.writeFileSync(S + "/ff", "decoy\\n");
  fs.renameSync(S + "/ff", "file.txt");
  sleep();
}
`,
      );
      await manager.startService(id, "swapper", {
        command: `'${process.execPath}' '${swapper}'`,
      });
      // Node takes a moment to start on a loaded machine: wait for the swapping to begin.
      const started = Date.now();
      while (!fs.existsSync(path.join(stash, "ff")) && Date.now() - started < 30_000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      let leaks = 0;
      let decoys = 0;
      let sawDirectory = 0;
      let sawSymlink = 0;
      const failures: string[] = [];
      // At least 40 rounds, and until both states were seen a few times.
      for (let round = 0; round < 200; round++) {
        if (round >= 40 && sawDirectory >= 3 && sawSymlink >= 3) break;
        try {
          const diff = await manager.diffWorkspace(id);
          for (const entry of diff.entries) {
            if (entry.text_patch?.includes(SECRET)) leaks++;
            if (entry.text_patch?.includes("decoy")) decoys++;
          }
          const { data } = await agentRequest(manager, id, "tree.manifest", {
            path: "/workspace",
          });
          const manifest = decodeManifest(data.toString("utf8"));
          for (const entry of manifest.values()) {
            if (entry.type === "file" && entry.sha256 === secretDigest) leaks++;
          }
          if (manifest.get("dir/secret.txt")?.type === "file") sawDirectory++;
          if (manifest.get("dir")?.type === "symlink") sawSymlink++;
        } catch (error) {
          failures.push(String(error));
        }
      }
      expect({ leaks, failures }).toEqual({ leaks: 0, failures: [] });
      // The race was real: diffs saw `dir` both as a directory and as a symlink, and read
      // decoys (never the secret) through it.
      expect(sawDirectory).toBeGreaterThanOrEqual(3);
      expect(sawSymlink).toBeGreaterThanOrEqual(3);
      expect(decoys).toBeGreaterThan(0);
      await manager.stopService(id, "swapper");
    },
  );
});

describe.each(TAR_MODES)("exportPath ($tar tar)", ({ tar: mode }) => {
  useTarMode(mode);

  async function members(file: string): Promise<string[]> {
    const names: string[] = [];
    await tar.list({ file, onReadEntry: (entry) => names.push(`${entry.type} ${entry.path}`) });
    return names.sort();
  }

  it("keeps symlinks as symlinks, leaves out FIFOs at any depth, refuses a symlinked parent", async () => {
    const outside = outsideDir();
    const root = writeTree(path.join(state.base(), "root"), {
      "dir/sub/deep.txt": "deep\n",
      "dir/line\nbreak.txt": "odd name\n",
      "top.txt": "top\n",
    });
    fs.symlinkSync(outside, path.join(root, "dir", "out"));
    fs.symlinkSync(outside, path.join(root, "link"));
    execFileSync("mkfifo", [
      path.join(root, "dir", "fifo"),
      path.join(root, "dir", "sub", "pipe\nname"),
      path.join(root, "topfifo"),
    ]);
    const file = path.join(state.base(), "export.tar");

    expect(await exportPath({ root, relativePath: "dir", file })).toEqual({
      artifact_type: "directory",
      entry_count: 4,
    });
    expect(await members(file)).toEqual([
      ...(mode === "gnu" ? ["Directory ./"] : []),
      "Directory sub/",
      "File line\nbreak.txt",
      "File sub/deep.txt",
      "SymbolicLink out",
    ]);
    expect(fs.readFileSync(file, "latin1")).not.toContain(SECRET);

    const whole = await exportPath({ root, relativePath: ".", file });
    expect(whole.entry_count).toBe(7);
    expect((await members(file)).filter((name) => name.includes("fifo"))).toEqual([]);

    await expect(exportPath({ root, relativePath: "dir/out/secret.txt", file })).rejects.toThrow(
      "path must not pass through a symlink: 'dir/out' is a symlink",
    );
    await expect(exportPath({ root, relativePath: "link/secret.txt", file })).rejects.toThrow(
      "path must not pass through a symlink: 'link' is a symlink",
    );
    await expect(exportPath({ root, relativePath: "top.txt/x", file })).rejects.toThrow(
      "path must only pass through directories: 'top.txt' is not a directory",
    );
    await expect(exportPath({ root, relativePath: "nope/x", file })).rejects.toMatchObject({
      code: "not_found",
    });
    expect(await exportPath({ root, relativePath: "link", file })).toEqual({
      artifact_type: "symlink",
      entry_count: 1,
    });
    expect(await members(file)).toEqual(["SymbolicLink link"]);
  });
});
