/**
 * The stopped-disk reader (src/core/disk-image.ts) against a real ext4 image made by
 * mkfs.ext4 -d (no root, no guest): paths resolved by inode without following symlinks,
 * listings, reads, and the scrub of runtime-only paths from an export. The whole
 * workspace_disk_* path, on a real stopped guest, is in test/files-qemu.test.ts.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Ext4Image, scrubRuntimePaths } from "../src/core/disk-image.js";
import { findTool } from "../src/environments/host-tools.js";

const mkfs = findTool("mkfs.ext4");
const debugfs = findTool("debugfs");
const e2fsck = findTool("e2fsck");
const haveTools = mkfs !== null && debugfs !== null && e2fsck !== null;

const SECRET = "TOP-SECRET-VALUE-4f1c";
let dir = "";
let image = "";

function buildImage(name: string): string {
  const tree = path.join(dir, `${name}-tree`);
  const file = (rel: string, content: string | Buffer) => {
    const full = path.join(tree, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  };
  file("workspace/a.txt", "hello\n");
  file("workspace/sub/b.bin", Buffer.from([0, 1, 2, 255]));
  file("workspace/sub/deeper/c.txt", "c\n");
  fs.symlinkSync("/etc", path.join(tree, "workspace/dirlink"));
  fs.symlinkSync("/etc/shadow", path.join(tree, "workspace/filelink"));
  file("etc/shadow", "root:hash\n");
  file("run/pyro-secrets/token", SECRET);
  file("run/pyro-secrets/big", SECRET.repeat(2000)); // several blocks
  file("run/pyro-shells/shell-1/state.json", `{"secret":"${SECRET}"}`);
  file("run/other/keep.txt", "kept\n");
  const out = path.join(dir, `${name}.ext4`);
  const made = spawnSync(mkfs as string, ["-q", "-F", "-d", tree, out, "32M"]);
  expect(made.status, made.stderr.toString()).toBe(0);
  return out;
}

beforeAll(() => {
  if (!haveTools) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-disk-image-"));
  image = buildImage("base");
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveTools)("Ext4Image", () => {
  it("resolves, lists and reads by inode", async () => {
    const disk = new Ext4Image(debugfs as string, image);
    const file = await disk.resolve("/workspace/a.txt", "path");
    expect(file.size).toBe(6);
    expect((await disk.read(file.inode, 1024)).toString()).toBe("hello\n");
    expect((await disk.read(file.inode, 2)).toString()).toBe("he");
    const listing = await disk.list((await disk.resolve("/workspace", "path")).inode);
    expect(listing.map((entry) => entry.name).sort()).toEqual([
      "a.txt",
      "dirlink",
      "filelink",
      "sub",
    ]);
    const stats = await disk.stat([file.inode]);
    expect(stats.get(file.inode)?.mtime).toBeGreaterThan(1_600_000_000);
    const link = await disk.resolve("/workspace/filelink", "path");
    expect((await disk.stat([link.inode])).get(link.inode)?.fastLink).toBe("/etc/shadow");
  });

  it("never follows a symlink on a path, and names what is missing", async () => {
    const disk = new Ext4Image(debugfs as string, image);
    await expect(disk.resolve("/workspace/dirlink/shadow", "path")).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("'/workspace/dirlink' is a symlink"),
    });
    await expect(disk.resolve("/workspace/a.txt/x", "path")).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("is not a directory"),
    });
    await expect(disk.resolve("/workspace/nope/x", "path")).rejects.toMatchObject({
      code: "not_found",
      message: expect.stringContaining("'/workspace/nope'"),
    });
  });

  it("scrubs runtime-only paths: entries gone, their bytes zeroed, the filesystem clean", async () => {
    const copy = path.join(dir, "scrub.ext4");
    fs.copyFileSync(image, copy);
    expect(fs.readFileSync(copy).includes(SECRET)).toBe(true);
    const disk = new Ext4Image(debugfs as string, copy);
    const scrubbed = await scrubRuntimePaths(disk, e2fsck as string);
    expect(scrubbed).toEqual(["/run/pyro-secrets", "/run/pyro-shells"]);
    await expect(disk.resolve("/run/pyro-secrets", "path")).rejects.toMatchObject({
      code: "not_found",
    });
    expect(fs.readFileSync(copy).includes(SECRET)).toBe(false);
    const kept = await disk.resolve("/run/other/keep.txt", "path");
    expect((await disk.read(kept.inode, 100)).toString()).toBe("kept\n");
    const check = spawnSync(e2fsck as string, ["-fn", copy]);
    expect(check.status, check.stdout.toString()).toBe(0);
    // The image it was copied from is untouched.
    expect(fs.readFileSync(image).includes(SECRET)).toBe(true);
  });
});
