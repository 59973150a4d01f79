import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import * as tar from "tar";
import { afterEach, describe, expect, it } from "vitest";

import { manifestNative } from "../src/diff/native-manifest.js";
import { openDirectory, withFd } from "../src/no-follow.js";
import {
  type DigestCache,
  type Manifest,
  MAX_PATCH_FILE_BYTES,
  decodeManifest,
  diffManifests,
  encodeManifest,
  manifestFromDirectory,
  manifestFromTar,
  readTarFiles,
} from "../src/diff/index.js";
import { diffTrees, manifestFromTree, treeFromDirectory } from "./tree-oracle.js";

let dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-manifest-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function referenceTrees(): { baseline: string; current: string } {
  const root = tempDir();
  const baseline = path.join(root, "baseline");
  const current = path.join(root, "current");
  fs.mkdirSync(baseline);
  fs.mkdirSync(current);
  fs.writeFileSync(path.join(baseline, "modified.txt"), "before\n");
  fs.writeFileSync(path.join(current, "modified.txt"), "after\n");
  fs.writeFileSync(path.join(baseline, "deleted.txt"), "gone\n");
  fs.writeFileSync(path.join(current, "added.txt"), "new\n");
  fs.writeFileSync(path.join(baseline, "binary.bin"), Buffer.from("\0before"));
  fs.writeFileSync(path.join(current, "binary.bin"), Buffer.from("\0after"));
  fs.symlinkSync("link-target-old.txt", path.join(baseline, "link"));
  fs.symlinkSync("link-target-new.txt", path.join(current, "link"));
  fs.mkdirSync(path.join(baseline, "swap"));
  fs.writeFileSync(path.join(current, "swap"), "type changed\n");
  fs.mkdirSync(path.join(baseline, "removed-empty"));
  fs.mkdirSync(path.join(current, "added-empty"));
  fs.mkdirSync(path.join(baseline, "same/nested"), { recursive: true });
  fs.mkdirSync(path.join(current, "same/nested"), { recursive: true });
  fs.writeFileSync(path.join(baseline, "same/nested/keep.txt"), "keep\n");
  fs.writeFileSync(path.join(current, "same/nested/keep.txt"), "keep\n");
  return { baseline, current };
}

function directoryLoader(dir: string) {
  return async (paths: string[]) =>
    new Map(paths.map((item) => [item, fs.readFileSync(path.join(dir, item))]));
}

describe("manifests", () => {
  it("give the same diff as full trees, from directories and from a tar", async () => {
    const { baseline, current } = referenceTrees();
    const expected = diffTrees(await treeFromDirectory(baseline), await treeFromDirectory(current));
    const archive = path.join(tempDir(), "baseline.tar");
    await tar.c({ cwd: baseline, file: archive, portable: true }, ["."]);
    const fromTar = await manifestFromTar(archive);
    const fromDir = await manifestFromDirectory(baseline);
    expect(fromTar).toEqual(fromDir);
    const after = await manifestFromDirectory(current);
    const diff = await diffManifests(fromTar, after, {
      before: (paths) => readTarFiles(archive, new Set(paths)),
      after: directoryLoader(current),
    });
    expect(diff).toEqual(expected);
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
  });

  it("report permission changes as git does: mode_changed alone, old/new mode on a modified file", async () => {
    const root = tempDir();
    const baseline = path.join(root, "baseline");
    const current = path.join(root, "current");
    for (const dir of [baseline, current]) {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "configure"), "#!/bin/sh\necho configured\n");
      fs.writeFileSync(path.join(dir, "run.sh"), "#!/bin/sh\n");
      fs.writeFileSync(path.join(dir, "blob.bin"), Buffer.from("\0same"));
      fs.writeFileSync(path.join(dir, "same.txt"), "same\n");
    }
    fs.chmodSync(path.join(baseline, "configure"), 0o755);
    fs.chmodSync(path.join(current, "configure"), 0o644); // chmod a-x: mode only
    fs.writeFileSync(path.join(current, "run.sh"), "#!/bin/sh\necho run\n");
    fs.chmodSync(path.join(current, "run.sh"), 0o755); // content and mode
    fs.chmodSync(path.join(current, "blob.bin"), 0o600); // binary, mode only
    const expected = diffTrees(await treeFromDirectory(baseline), await treeFromDirectory(current));
    const archive = path.join(tempDir(), "baseline.tar");
    await tar.c({ cwd: baseline, file: archive, portable: true }, ["."]);
    const fromTar = await manifestFromTar(archive);
    expect(fromTar).toEqual(await manifestFromDirectory(baseline));
    const diff = await diffManifests(fromTar, await manifestFromDirectory(current), {
      before: (paths) => readTarFiles(archive, new Set(paths)),
      after: directoryLoader(current),
    });
    expect(diff).toEqual(expected);
    expect(diff.summary).toEqual({
      total: 3,
      added: 0,
      modified: 1,
      deleted: 0,
      type_changed: 0,
      mode_changed: 2,
      text_patched: 3,
      non_text: 0,
    });
    expect(diff.entries).toEqual([
      {
        path: "blob.bin",
        status: "mode_changed",
        artifact_type: "file",
        text_patch: "diff --git a/blob.bin b/blob.bin\nold mode 100644\nnew mode 100600\n",
        old_mode: "100644",
        new_mode: "100600",
      },
      {
        path: "configure",
        status: "mode_changed",
        artifact_type: "file",
        text_patch: "diff --git a/configure b/configure\nold mode 100755\nnew mode 100644\n",
        old_mode: "100755",
        new_mode: "100644",
      },
      {
        path: "run.sh",
        status: "modified",
        artifact_type: "file",
        text_patch:
          "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n" +
          "--- a/run.sh\n+++ b/run.sh\n@@ -1,1 +1,2 @@\n #!/bin/sh\n+echo run\n",
        old_mode: "100644",
        new_mode: "100755",
      },
    ]);
    // The patch is one git applies: the baseline patched is the current tree, modes included.
    const git = spawnSync("git", ["--version"]);
    if (git.status === 0) {
      const applied = path.join(tempDir(), "applied");
      fs.cpSync(baseline, applied, { recursive: true });
      fs.writeFileSync(path.join(root, "change.patch"), diff.patch);
      const run = spawnSync("git", ["apply", path.join(root, "change.patch")], {
        cwd: applied,
        encoding: "utf8",
      });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(fs.statSync(path.join(applied, "configure")).mode & 0o777).toBe(0o644);
      expect(fs.statSync(path.join(applied, "run.sh")).mode & 0o777).toBe(0o755);
      expect(fs.readFileSync(path.join(applied, "run.sh"), "utf8")).toBe("#!/bin/sh\necho run\n");
    }
  });

  it("fetch only the bodies of changed text files", async () => {
    const { baseline, current } = referenceTrees();
    const asked: string[][] = [];
    await diffManifests(
      await manifestFromDirectory(baseline),
      await manifestFromDirectory(current),
      {
        before: async (paths) => (asked.push(paths), directoryLoader(baseline)(paths)),
        after: async (paths) => (asked.push(paths), directoryLoader(current)(paths)),
      },
    );
    expect(asked.flat().sort()).toEqual([
      "added.txt",
      "binary.bin",
      "binary.bin",
      "deleted.txt",
      "modified.txt",
      "modified.txt",
    ]);
  });

  it("list only leaves: files, symlinks and empty directories", async () => {
    const { baseline } = referenceTrees();
    const manifest = await manifestFromDirectory(baseline);
    expect([...manifest.keys()].sort()).toEqual([
      "binary.bin",
      "deleted.txt",
      "link",
      "modified.txt",
      "removed-empty",
      "same/nested/keep.txt",
      "swap",
    ]);
    expect(manifestFromTree(await treeFromDirectory(baseline))).toEqual(manifest);
  });

  it("round-trip through their wire form and refuse malformed lines", async () => {
    const { current } = referenceTrees();
    const manifest = await manifestFromDirectory(current);
    expect(decodeManifest(encodeManifest(manifest))).toEqual(manifest);
    expect(() => decodeManifest('["../escape","d"]\n')).toThrow("malformed");
    expect(() => decodeManifest('["/etc/passwd","d"]\n')).toThrow("malformed");
    expect(() => decodeManifest('["a","f",1,"not-a-digest"]\n')).toThrow("malformed");
    expect(() => decodeManifest("{}\n")).toThrow("malformed");
  });

  it("skip patches for files too large to patch usefully", async () => {
    const root = tempDir();
    const before = path.join(root, "before");
    const after = path.join(root, "after");
    fs.mkdirSync(before);
    fs.mkdirSync(after);
    fs.writeFileSync(path.join(before, "big.txt"), "a\n".repeat(MAX_PATCH_FILE_BYTES));
    fs.writeFileSync(path.join(after, "big.txt"), "b\n".repeat(MAX_PATCH_FILE_BYTES));
    const diff = await diffManifests(
      await manifestFromDirectory(before),
      await manifestFromDirectory(after),
      {
        before: directoryLoader(before),
        after: directoryLoader(after),
      },
    );
    expect(diff.entries).toEqual([
      {
        path: "big.txt",
        status: "modified",
        artifact_type: "file",
        text_patch: null,
        old_mode: null,
        new_mode: null,
      },
    ]);
    expect(diff.summary.non_text).toBe(1);
  });
});

/**
 * The guest agent's native manifest (find + sha256sum), from a path like the walk's. Its
 * tools' input and output go to nameless files in a scratch directory that must stay empty.
 */
async function nativeManifest(dir: string, cache?: DigestCache): Promise<Manifest> {
  const toolDir = tempDir();
  const manifest = await withFd(openDirectory(dir), (fd) =>
    manifestNative(fd, cache, { tempDir: toolDir }),
  );
  expect(fs.readdirSync(toolDir)).toEqual([]);
  return manifest;
}

/** Runs `fn` with `tools` (name -> shell script) first on PATH, standing in for the real ones. */
async function withTools<T>(tools: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const bin = tempDir();
  for (const [name, script] of Object.entries(tools)) {
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  }
  const before = process.env.PATH;
  process.env.PATH = `${bin}:${before ?? ""}`;
  try {
    return await fn();
  } finally {
    process.env.PATH = before;
  }
}

/** A tree of 700 files: over the in-process limit, so sha256sum hashes them. */
function manyFiles(): string {
  const dir = tempDir();
  for (let index = 0; index < 700; index += 1) {
    const name = ["plain", "with space", "new\nline", "-dash", "ünï"][index % 5] ?? "";
    fs.mkdirSync(path.join(dir, `d${index % 7}`), { recursive: true });
    fs.writeFileSync(path.join(dir, `d${index % 7}`, `${name}${index}`), `body ${index}\n`);
  }
  return dir;
}

function which(tool: string): string {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
}

const BUILDERS = [
  { name: "walk", build: manifestFromDirectory },
  { name: "native", build: nativeManifest },
];

describe("native manifests (find + sha256sum)", () => {
  it("equal the descriptor walk's, whatever the names, types and modes", async () => {
    const dir = tempDir();
    const files: Record<string, string> = {
      "plain.txt": "plain\n",
      "with space.txt": "space\n",
      "new\nline.txt": "newline\n",
      "-dash": "dash\n",
      "back\\slash": "backslash\n",
      "ünï.txt": "unicode\n",
      "deep/er/file.txt": "deep\n",
      "empty.txt": "",
    };
    for (const [name, body] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), body);
    }
    fs.writeFileSync(path.join(dir, "big.bin"), Buffer.alloc(5 * 1024 * 1024, 7));
    fs.chmodSync(path.join(dir, "plain.txt"), 0o755);
    fs.chmodSync(path.join(dir, "-dash"), 0o4711);
    fs.mkdirSync(path.join(dir, "empty/dir"), { recursive: true });
    fs.symlinkSync("deep/er", path.join(dir, "link"));
    fs.symlinkSync("/nowhere at all", path.join(dir, "dangling"));
    spawnSync("mkfifo", [path.join(dir, "fifo")]);
    const walked = await manifestFromDirectory(dir);
    const native = await nativeManifest(dir);
    expect(native).toEqual(walked);
    expect(native.get("-dash")).toMatchObject({ type: "file", mode: 0o4711 });
    expect(native.has("fifo")).toBe(false);
    expect(native.get("empty/dir")).toEqual({ type: "directory" });
  });

  it("hashes with sha256sum past the in-process limit, names and all", async () => {
    const dir = manyFiles();
    const native = await nativeManifest(dir);
    expect(native.size).toBe(700);
    expect(native).toEqual(await manifestFromDirectory(dir));
  });

  it("does not take a file left out of sha256sum's output for a deleted one", async () => {
    // As if its output had been cut short: every name ending in 7 is left out.
    const dir = manyFiles();
    const sha256sum = which("sha256sum");
    const native = await withTools(
      {
        sha256sum: `n=$#; i=0
while [ $i -lt $n ]; do a=$1; shift; case $a in *7) ;; *) set -- "$@" "$a";; esac; i=$((i + 1)); done
exec ${sha256sum} "$@"`,
      },
      () => nativeManifest(dir),
    );
    expect(native.size).toBe(700);
    expect(native).toEqual(await manifestFromDirectory(dir));
  });

  it("fails rather than lists part of the tree when find fails", async () => {
    // A listing find could not finish (its output file full, an I/O error): files would
    // read as deleted.
    const dir = manyFiles();
    const find = which("find");
    await expect(
      withTools({ find: `${find} "$@" | head -c 200; echo 'find: write error' >&2; exit 1` }, () =>
        nativeManifest(dir),
      ),
    ).rejects.toThrow(/find could not list the tree \(status 1\): find: write error/);
  });
});

describe.each(BUILDERS)("the digest cache ($name)", ({ build }) => {
  it("never trusts a digest taken within the racy window", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "a.txt"), "one\n");
    const cache = new Map();
    const first = await build(dir, cache);
    expect(cache.size).toBe(0); // just written: too fresh to trust
    fs.writeFileSync(path.join(dir, "a.txt"), "two\n"); // same size, maybe same timestamps
    const second = await build(dir, cache);
    expect(second.get("a.txt")).not.toEqual(first.get("a.txt"));
  });

  it("reuses settled digests and still sees every change", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "keep.txt"), "keep\n");
    fs.writeFileSync(path.join(dir, "edit.txt"), "before\n");
    fs.writeFileSync(path.join(dir, "gone.txt"), "gone\n");
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const cache = new Map();
    const before = await build(dir, cache);
    expect([...cache.keys()].sort()).toEqual(["edit.txt", "gone.txt", "keep.txt"]);
    fs.writeFileSync(path.join(dir, "edit.txt"), "after!\n");
    fs.rmSync(path.join(dir, "gone.txt"));
    fs.chmodSync(path.join(dir, "keep.txt"), 0o700);
    const after = await build(dir, cache);
    expect(after.get("keep.txt")).toEqual({ ...before.get("keep.txt"), mode: 0o700 });
    expect(after.get("edit.txt")).toEqual(
      manifestFromTree(await treeFromDirectory(dir)).get("edit.txt"),
    );
    expect(after.has("gone.txt")).toBe(false);
    expect(cache.has("gone.txt")).toBe(false);
  });
});
