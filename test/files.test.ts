/**
 * workspace_file_list/read/write and workspace_patch_apply on the host backend, through the
 * SDK, the CLI and the MCP server: main paths, and bad input that fails with a clear error
 * and changes nothing (symlink escapes, paths outside /workspace, oversize, invalid base64,
 * a patch with one bad hunk, a multi-file patch whose second file fails). Plus --id-only,
 * and the disk ops' refusal on a host-backend workspace. The guest half is
 * test/files-qemu.test.ts.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { Pyro } from "../src/index.js";
import { useTempState } from "./helpers.js";
import { callTool, cliPath, connectStdio, pyroEnv, textOf } from "./mcp-client.js";

const state = useTempState();
const clients: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

function sdk(): Pyro {
  return new Pyro({ backend: "host", baseDir: state.stateDir() });
}

function cli(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    env: pyroEnv(state.stateDir()),
    input,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    text: result.stdout.toString(),
    stderr: result.stderr.toString(),
  };
}

/** Where /workspace of a host-backend workspace really is. */
function hostDir(id: string): string {
  return path.join(state.stateDir(), "workspaces", id, "workspace");
}

async function created(pyro: Pyro): Promise<string> {
  const workspace = await pyro.createWorkspace({ allow_host_compat: true });
  return workspace.workspace_id;
}

/** Every file under a directory with its content (symlinks as "-> target"). */
function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const stats = fs.lstatSync(full);
      const rel = `${prefix}${name}`;
      if (stats.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(full)}`;
      else if (stats.isDirectory()) {
        out[`${rel}/`] = `mode ${(stats.mode & 0o777).toString(8)}`;
        walk(full, `${rel}/`);
      } else
        out[rel] =
          `${fs.readFileSync(full, "utf8")} (mode ${(stats.mode & 0o777).toString(8)}, mtime ${stats.mtimeMs})`;
    }
  };
  walk(root, "");
  return out;
}

const TWO_HUNK_FILE =
  Array.from({ length: 20 }, (_, index) => `line ${index + 1}`).join("\n") + "\n";

describe("workspace file operations (SDK)", () => {
  it("writes (parents made, mode), lists, reads text and binary, and truncates at max_bytes", async () => {
    const pyro = sdk();
    const id = await created(pyro);
    const written = await pyro.writeWorkspaceFile({
      workspace_id: id,
      path: "src/deep/app.sh",
      text: "#!/bin/sh\necho hi\n",
      mode: "0755",
    });
    expect(written).toEqual({
      workspace_id: id,
      path: "/workspace/src/deep/app.sh",
      size_bytes: 18,
      mode: "0755",
      created: true,
    });
    const onHost = path.join(hostDir(id), "src/deep/app.sh");
    expect(fs.readFileSync(onHost, "utf8")).toBe("#!/bin/sh\necho hi\n");
    expect(fs.statSync(onHost).mode & 0o7777).toBe(0o755);
    // Rewriting keeps the mode unless one is given.
    const again = await pyro.writeWorkspaceFile({
      workspace_id: id,
      path: "/workspace/src/deep/app.sh",
      text: "x",
    });
    expect(again).toMatchObject({ mode: "0755", created: false, size_bytes: 1 });

    const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 10]);
    await pyro.writeWorkspaceFile({
      workspace_id: id,
      path: "data.bin",
      text: binary.toString("base64"),
      encoding: "base64",
    });
    expect(fs.readFileSync(path.join(hostDir(id), "data.bin"))).toEqual(binary);
    const readBinary = await pyro.readWorkspaceFile({ workspace_id: id, path: "data.bin" });
    expect(readBinary).toMatchObject({ encoding: "base64", size_bytes: 6, truncated: false });
    expect(Buffer.from(readBinary.content, "base64")).toEqual(binary);

    await pyro.writeWorkspaceFile({ workspace_id: id, path: "utf.txt", text: "añb" }); // ñ is 2 bytes
    const cut = await pyro.readWorkspaceFile({ workspace_id: id, path: "utf.txt", max_bytes: 2 });
    // The cut character is left out whole: still text, not base64.
    expect(cut).toMatchObject({
      content: "a",
      encoding: "utf8",
      truncated: true,
      returned_bytes: 1,
      size_bytes: 4,
    });

    fs.symlinkSync("/etc/passwd", path.join(hostDir(id), "link"));
    const listing = await pyro.listWorkspaceFiles({ workspace_id: id, recursive: true });
    expect(listing.entries.map((entry) => [entry.path, entry.type])).toEqual([
      ["/workspace/data.bin", "file"],
      ["/workspace/link", "symlink"],
      ["/workspace/src", "directory"],
      ["/workspace/src/deep", "directory"],
      ["/workspace/src/deep/app.sh", "file"],
      ["/workspace/utf.txt", "file"],
    ]);
    expect(listing.entries[1]).toMatchObject({ link_target: "/etc/passwd" });
    expect(listing.entries[4]).toMatchObject({ mode: "0755", size_bytes: 1 });
    expect(listing.entries[4]?.mtime).toBeGreaterThan(Date.now() / 1000 - 120);
    const shallow = await pyro.listWorkspaceFiles({ workspace_id: id, path: "src" });
    expect(shallow).toMatchObject({ path: "/workspace/src", count: 1, truncated: false });
    pyro.close();
  });

  it("bounds a listing and says it was truncated", async () => {
    const pyro = sdk();
    const id = await created(pyro);
    const many = path.join(hostDir(id), "many");
    fs.mkdirSync(many);
    for (let index = 0; index < 1005; index++) fs.writeFileSync(path.join(many, `f${index}`), "");
    const listing = await pyro.listWorkspaceFiles({ workspace_id: id, recursive: true });
    expect(listing).toMatchObject({ count: 1000, truncated: true });
    pyro.close();
  });

  it("never reads or writes through a symlink, nor outside /workspace, and changes nothing", async () => {
    const pyro = sdk();
    const id = await created(pyro);
    const outside = fs.mkdtempSync(path.join(state.base(), "outside-"));
    fs.writeFileSync(path.join(outside, "secret.txt"), "host secret\n");
    fs.symlinkSync(outside, path.join(hostDir(id), "dirlink"));
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(hostDir(id), "filelink"));
    const before = snapshotTree(outside);

    const refused = async (call: Promise<unknown>, code: string, fragment: string) =>
      expect(call).rejects.toMatchObject({ code, message: expect.stringContaining(fragment) });
    await refused(
      pyro.readWorkspaceFile({ workspace_id: id, path: "dirlink/secret.txt" }),
      "invalid_argument",
      "'/workspace/dirlink' is a symlink",
    );
    await refused(
      pyro.readWorkspaceFile({ workspace_id: id, path: "filelink" }),
      "invalid_argument",
      "is a symlink",
    );
    await refused(
      pyro.writeWorkspaceFile({ workspace_id: id, path: "dirlink/new.txt", text: "x" }),
      "invalid_argument",
      "'/workspace/dirlink' is a symlink",
    );
    await refused(
      pyro.writeWorkspaceFile({ workspace_id: id, path: "filelink", text: "x" }),
      "invalid_argument",
      "is a symlink",
    );
    // A listing names a symlink as one, never lists what it points to.
    const link = await pyro.listWorkspaceFiles({ workspace_id: id, path: "dirlink" });
    expect(link.entries).toEqual([
      expect.objectContaining({ type: "symlink", link_target: outside }),
    ]);
    await refused(
      pyro.listWorkspaceFiles({ workspace_id: id, path: "dirlink/sub" }),
      "invalid_argument",
      "'/workspace/dirlink' is a symlink",
    );
    await refused(
      pyro.readWorkspaceFile({ workspace_id: id, path: "../../etc/passwd" }),
      "invalid_argument",
      "path must stay inside /workspace",
    );
    await refused(
      pyro.writeWorkspaceFile({ workspace_id: id, path: "/etc/x", text: "x" }),
      "invalid_argument",
      "path must stay inside /workspace",
    );
    await refused(
      pyro.writeWorkspaceFile({ workspace_id: id, path: "/workspace", text: "x" }),
      "invalid_argument",
      "must name a file below /workspace",
    );
    await refused(
      pyro.writeWorkspaceFile({
        workspace_id: id,
        path: "b.bin",
        text: "ab!c",
        encoding: "base64",
      }),
      "invalid_argument",
      "text must be valid base64",
    );
    await refused(
      pyro.writeWorkspaceFile({ workspace_id: id, path: "m", text: "x", mode: "999" }),
      "invalid_argument",
      "mode must be 3 or 4 octal digits",
    );
    await refused(
      pyro.writeWorkspaceFile({
        workspace_id: id,
        path: "big",
        text: "x".repeat(4 * 1024 * 1024 + 1),
      }),
      "limit_exceeded",
      "at most 4194304 bytes",
    );
    await refused(
      pyro.readWorkspaceFile({ workspace_id: id, path: "nope.txt" }),
      "not_found",
      "does not exist",
    );
    await refused(
      pyro.readWorkspaceFile({ workspace_id: id, path: "x", max_bytes: 2_000_000 }),
      "invalid_argument",
      "max_bytes must be between 0 and 1048576",
    );
    await refused(
      pyro.applyWorkspacePatch({ workspace_id: id, patch: "x".repeat(1024 * 1024 + 1) }),
      "limit_exceeded",
      "patch must be at most",
    );
    await refused(
      pyro.applyWorkspacePatch({ workspace_id: id, patch: "just words\n" }),
      "invalid_argument",
      "patch has no file changes",
    );
    // A patch through the symlinked directory is refused too.
    await refused(
      pyro.applyWorkspacePatch({
        workspace_id: id,
        patch: "--- /dev/null\n+++ b/dirlink/evil.txt\n@@ -0,0 +1 @@\n+evil\n",
      }),
      "invalid_argument",
      "is a symlink",
    );
    expect(snapshotTree(outside)).toEqual(before);
    expect(fs.readdirSync(hostDir(id)).sort()).toEqual(["dirlink", "filelink"]);
    pyro.close();
  });
});

describe("workspace_patch_apply (SDK)", () => {
  it("applies a multi-file patch with new and deleted files, as git diff writes it", async () => {
    const pyro = sdk();
    const id = await created(pyro);
    await pyro.writeWorkspaceFile({
      workspace_id: id,
      path: "lines.txt",
      text: TWO_HUNK_FILE,
      mode: "0700",
    });
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "old.txt", text: "bye\n" });
    const patch = [
      "diff --git a/lines.txt b/lines.txt",
      "--- a/lines.txt",
      "+++ b/lines.txt",
      "@@ -1,3 +1,3 @@",
      "-line 1",
      "+LINE 1",
      " line 2",
      " line 3",
      "@@ -18,3 +18,4 @@",
      " line 18",
      " line 19",
      " line 20",
      "+line 21",
      "--- /dev/null",
      "+++ b/new/dir/made.txt",
      "@@ -0,0 +1,2 @@",
      "+made",
      "+here",
      "--- a/old.txt",
      "+++ /dev/null",
      "@@ -1 +0,0 @@",
      "-bye",
      "",
    ].join("\n");
    const applied = await pyro.applyWorkspacePatch({ workspace_id: id, patch });
    expect(applied).toEqual({
      workspace_id: id,
      changed: true,
      summary: { total: 3, added: 1, modified: 1, deleted: 1 },
      entries: [
        { path: "/workspace/lines.txt", status: "modified", hunks: 2 },
        { path: "/workspace/new/dir/made.txt", status: "added", hunks: 1 },
        { path: "/workspace/old.txt", status: "deleted", hunks: 1 },
      ],
    });
    const root = hostDir(id);
    expect(fs.readFileSync(path.join(root, "lines.txt"), "utf8")).toBe(
      TWO_HUNK_FILE.replace("line 1\n", "LINE 1\n") + "line 21\n",
    );
    expect(fs.statSync(path.join(root, "lines.txt")).mode & 0o777).toBe(0o700); // mode kept
    expect(fs.readFileSync(path.join(root, "new/dir/made.txt"), "utf8")).toBe("made\nhere\n");
    expect(fs.existsSync(path.join(root, "old.txt"))).toBe(false);
    // No temp files left beside the targets.
    expect(fs.readdirSync(root).filter((name) => name.startsWith(".pyro-tmp-"))).toEqual([]);
    // The workspace's own diff sees exactly this change.
    const diff = await pyro.diffWorkspace({ workspace_id: id });
    expect(diff.summary).toMatchObject({ added: 2 }); // lines.txt and made.txt (old.txt came and went)
    pyro.close();
  });

  it("a patch with one bad hunk changes nothing and names the hunk", async () => {
    const pyro = sdk();
    const id = await created(pyro);
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "lines.txt", text: TWO_HUNK_FILE });
    const before = snapshotTree(hostDir(id));
    const patch = [
      "--- a/lines.txt",
      "+++ b/lines.txt",
      "@@ -1,2 +1,2 @@",
      "-line 1",
      "+LINE 1",
      " line 2",
      "@@ -10,2 +10,2 @@",
      "-line ten", // not what the file says
      "+LINE 10",
      " line 11",
      "",
    ].join("\n");
    const error = await pyro
      .applyWorkspacePatch({ workspace_id: id, patch })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("nothing was changed"),
      details: {
        files: [
          {
            path: "/workspace/lines.txt",
            ok: false,
            error: expect.stringContaining("hunk 2 of 2 (@@ -10,2 +10,2 @@) does not match"),
          },
        ],
      },
    });
    expect(snapshotTree(hostDir(id))).toEqual(before);
    pyro.close();
  });

  it("a multi-file patch whose second file fails changes nothing, not even the first", async () => {
    const pyro = sdk();
    const id = await created(pyro);
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "a.txt", text: "alpha\n" });
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "b.txt", text: "beta\n" });
    const before = snapshotTree(hostDir(id));
    const patch = [
      "--- a/a.txt",
      "+++ b/a.txt",
      "@@ -1 +1 @@",
      "-alpha",
      "+ALPHA",
      "--- a/b.txt",
      "+++ b/b.txt",
      "@@ -1 +1 @@",
      "-gamma",
      "+GAMMA",
      "--- /dev/null",
      "+++ b/c/new.txt",
      "@@ -0,0 +1 @@",
      "+new",
      "",
    ].join("\n");
    const error = await pyro
      .applyWorkspacePatch({ workspace_id: id, patch })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("(1 of 3 files failed): /workspace/b.txt: hunk 1 of 1"),
      details: {
        files: [
          { path: "/workspace/a.txt", ok: true },
          { path: "/workspace/b.txt", ok: false },
          { path: "/workspace/c/new.txt", ok: true, status: "added" },
        ],
      },
    });
    expect(snapshotTree(hostDir(id))).toEqual(before);
    // Other refusals of a whole patch: a binary file, an existing "new" file, a missing one.
    await pyro.writeWorkspaceFile({
      workspace_id: id,
      path: "bin",
      text: Buffer.from([0, 1]).toString("base64"),
      encoding: "base64",
    });
    const binary = await pyro
      .applyWorkspacePatch({
        workspace_id: id,
        patch:
          "--- a/bin\n+++ b/bin\n@@ -1 +1 @@\n-x\n+y\n--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+x\n--- a/gone\n+++ b/gone\n@@ -1 +1 @@\n-x\n+y\n",
      })
      .catch((caught: unknown) => caught as Error);
    expect((binary as Error).message).toContain("/workspace/bin: it is not a text file");
    expect((binary as Error).message).toContain("/workspace/a.txt: it already exists");
    expect((binary as Error).message).toContain("/workspace/gone: it does not exist");
    const twice = await pyro
      .applyWorkspacePatch({
        workspace_id: id,
        patch:
          "--- /dev/null\n+++ b/n/x\n@@ -0,0 +1 @@\n+1\n--- /dev/null\n+++ b/n/x\n@@ -0,0 +1 @@\n+2\n",
      })
      .catch((caught: unknown) => caught as Error);
    expect((twice as Error).message).toContain("/workspace/n/x: the patch changes this file twice");
    expect(snapshotTree(hostDir(id))).toEqual({ ...before, bin: expect.any(String) });
    pyro.close();
  });

  it("the disk operations refuse a host-backend workspace with a clear error", async () => {
    const pyro = sdk();
    const id = await created(pyro);
    // Thunks, not promises: each call starts only when its expectation is attached, so no
    // rejection is ever left unhandled while an earlier one is awaited.
    for (const call of [
      () => pyro.listWorkspaceDisk({ workspace_id: id }),
      () => pyro.readWorkspaceDisk({ workspace_id: id, path: "a" }),
      () =>
        pyro.exportWorkspaceDisk({
          workspace_id: id,
          output_path: path.join(state.base(), "disk.img"),
        }),
    ]) {
      await expect(call()).rejects.toMatchObject({
        code: "invalid_state",
        message: expect.stringContaining(
          "runs on the 'host' backend, whose /workspace is a host directory",
        ),
      });
    }
    expect(fs.existsSync(path.join(state.base(), "disk.img"))).toBe(false);
    pyro.close();
  });
});

describe("workspace file operations (CLI)", () => {
  it(
    "--id-only, file write --text-file, file list, file read (bytes as they are), patch apply --patch-file",
    { timeout: 120_000 },
    () => {
      const create = cli(["workspace", "create", "debian:12", "--allow-host-compat", "--id-only"]);
      expect(create.status, create.stderr).toBe(0);
      expect(create.text).toMatch(/^[0-9a-f]{12}\n$/);
      const id = create.text.trim();
      const shell = cli(["workspace", "shell", "open", id, "--id-only"]);
      expect(shell.status, shell.stderr).toBe(0);
      expect(shell.text).toMatch(/^[A-Za-z0-9_-]+\n$/);
      expect(shell.text.trim().split("\n")).toHaveLength(1);

      const hostFile = path.join(state.base(), "bin.dat");
      const bytes = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0xff]);
      fs.writeFileSync(hostFile, bytes);
      const write = cli([
        "workspace",
        "file",
        "write",
        id,
        "bin/tool",
        "--text-file",
        hostFile,
        "--mode",
        "0755",
      ]);
      expect(write.status, write.stderr).toBe(0);
      expect(write.text).toBe("created /workspace/bin/tool (6 bytes, mode 0755)\n");
      const read = cli(["workspace", "file", "read", id, "bin/tool"]);
      expect(read.status, read.stderr).toBe(0);
      expect(read.stdout).toEqual(bytes);
      const text = cli(["workspace", "file", "write", id, "notes.txt", "--text", "one\ntwo\n"]);
      expect(text.status, text.stderr).toBe(0);
      const list = cli(["workspace", "file", "list", id, "--recursive"]);
      expect(list.text).toContain("0755 file               6  /workspace/bin/tool");
      expect(list.text).toContain("0644 file               8  /workspace/notes.txt");

      const patchFile = path.join(state.base(), "fix.patch");
      fs.writeFileSync(
        patchFile,
        "--- a/notes.txt\n+++ b/notes.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n",
      );
      const apply = cli(["workspace", "patch", "apply", id, "--patch-file", patchFile]);
      expect(apply.status, apply.stderr).toBe(0);
      expect(apply.text).toContain("modified  /workspace/notes.txt (1 hunks)");
      expect(cli(["workspace", "file", "read", id, "notes.txt"]).text).toBe("one\nTWO\n");
      // The same patch again no longer applies: exit 1, the file named, nothing changed.
      const again = cli([
        "workspace",
        "patch",
        "apply",
        id,
        "--patch",
        fs.readFileSync(patchFile, "utf8"),
      ]);
      expect(again.status).toBe(1);
      expect(again.stderr).toContain(
        "error [invalid_argument]: patch does not apply, nothing was changed",
      );
      expect(again.stderr).toContain("/workspace/notes.txt: hunk 1 of 1");
      // From stdin.
      const stdin = cli(
        ["workspace", "patch", "apply", id, "--patch-file", "-", "--json"],
        "--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-one\n+ONE\n",
      );
      expect(stdin.status, stdin.stderr).toBe(0);
      expect(JSON.parse(stdin.text)).toMatchObject({ summary: { modified: 1 } });

      const truncated = cli(["workspace", "file", "read", id, "notes.txt", "--max-bytes", "3"]);
      expect(truncated.text).toBe("ONE");
      expect(truncated.stderr).toContain("3 of 8 bytes shown");
    },
  );

  it(
    "bad input: both or neither of --text/--text-file, a missing --text-file, a path outside /workspace",
    { timeout: 120_000 },
    () => {
      const id = cli([
        "workspace",
        "create",
        "debian:12",
        "--allow-host-compat",
        "--id-only",
      ]).text.trim();
      const both = cli(["workspace", "file", "write", id, "x", "--text", "a", "--text-file", "b"]);
      expect(both.status).toBe(2);
      expect(both.stderr).toContain("give exactly one of --text and --text-file");
      expect(cli(["workspace", "patch", "apply", id]).status).toBe(2);
      const missing = cli([
        "workspace",
        "file",
        "write",
        id,
        "x",
        "--text-file",
        path.join(state.base(), "nope"),
      ]);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain("error [not_found]: --text-file does not exist");
      const outside = cli(["workspace", "file", "read", id, "../../etc/passwd"]);
      expect(outside.status).toBe(1);
      expect(outside.stderr).toContain("path must stay inside /workspace: '../../etc/passwd'");
      expect(fs.readdirSync(hostDir(id))).toEqual([]);
    },
  );
});

describe("workspace file operations (MCP)", () => {
  it(
    "list, read, write and patch as tools; a failing patch is a tool error naming the file",
    { timeout: 120_000 },
    async () => {
      const { client } = await connectStdio(state.stateDir(), {
        args: ["--allow-path", state.base(), "--profile", "workspace-full"],
      });
      clients.push(client);
      const create = await callTool(client, "workspace_create", { allow_host_compat: true });
      const id = (create.structuredContent as { workspace_id: string }).workspace_id;
      const write = await callTool(client, "workspace_file_write", {
        workspace_id: id,
        path: "a/b.txt",
        text: "one\n",
      });
      expect(write.isError, JSON.stringify(write.content)).toBeFalsy();
      expect(write.structuredContent).toMatchObject({ path: "/workspace/a/b.txt", created: true });
      const list = await callTool(client, "workspace_file_list", {
        workspace_id: id,
        recursive: true,
      });
      expect(list.structuredContent).toMatchObject({ count: 2, truncated: false });
      const read = await callTool(client, "workspace_file_read", {
        workspace_id: id,
        path: "a/b.txt",
      });
      expect(read.structuredContent).toMatchObject({ content: "one\n", encoding: "utf8" });
      expect(textOf(read)).toBe("one\n");
      const patch = await callTool(client, "workspace_patch_apply", {
        workspace_id: id,
        patch: "--- a/a/b.txt\n+++ b/a/b.txt\n@@ -1 +1 @@\n-one\n+two\n",
      });
      expect(patch.structuredContent).toMatchObject({ summary: { modified: 1 } });
      const bad = await callTool(client, "workspace_patch_apply", {
        workspace_id: id,
        patch: "--- a/a/b.txt\n+++ b/a/b.txt\n@@ -1 +1 @@\n-one\n+three\n",
      });
      expect(bad.isError).toBe(true);
      expect(textOf(bad)).toContain("/workspace/a/b.txt: hunk 1 of 1");
      const escape = await callTool(client, "workspace_file_write", {
        workspace_id: id,
        path: "../x",
        text: "x",
      });
      expect(escape.isError).toBe(true);
      expect(textOf(escape)).toContain("path must stay inside /workspace");
      const badBase64 = await callTool(client, "workspace_file_write", {
        workspace_id: id,
        path: "x",
        text: "%%%",
        encoding: "base64",
      });
      expect(textOf(badBase64)).toContain("text must be valid base64");
      const disk = await callTool(client, "workspace_disk_list", { workspace_id: id });
      expect(textOf(disk)).toContain("invalid_state");
      const outsideRoots = await callTool(client, "workspace_disk_export", {
        workspace_id: id,
        output_path: "/tmp/pyro-not-a-root.img",
      });
      expect(outsideRoots.isError).toBe(true);
      expect(textOf(outsideRoots)).toContain("is outside the allowed roots");
      expect(fs.readFileSync(path.join(hostDir(id), "a/b.txt"), "utf8")).toBe("two\n");
    },
  );
});
