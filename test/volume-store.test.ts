/**
 * The workspace volume's files without a guest (src/backends/qemu/volume-store.ts,
 * volume-ops.ts): real qemu-img and mkfs.ext4, no VM. A chain's relative backing names
 * resolve after it is hard-linked elsewhere; garbage collection keeps what a root reaches
 * and removes the rest; a seal killed in flight with no qemu running is finished.
 * Skipped where qemu-img or mkfs.ext4 is missing.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { findTool } from "../src/environments/host-tools.js";
import { reconcileVolume } from "../src/backends/qemu/volume-ops.js";
import {
  collectGarbage,
  createOverlayFile,
  createVolume,
  emptyVolume,
  layerFile,
  readIndex,
  volumeDir,
  writeIndex,
} from "../src/backends/qemu/volume-store.js";

const qemuImg = findTool("qemu-img");
const usable = qemuImg !== null && fs.existsSync("/usr/sbin/mkfs.ext4");

function backingChain(file: string): string[] {
  const out = spawnSync(
    qemuImg as string,
    ["info", "-U", "--backing-chain", "--output=json", file],
    {
      encoding: "utf8",
    },
  );
  expect(out.status, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as Array<{ filename: string }>).map((entry) => entry.filename);
}

describe.skipIf(!usable)("workspace volume files (no guest)", () => {
  let base = "";
  afterEach(() => {
    if (base) fs.rmSync(base, { recursive: true, force: true });
    base = "";
  });

  it("makes an empty ext4 once, and a chain that resolves after hard-linking", async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-volume-"));
    const empty = await emptyVolume(path.join(base, "cache"), qemuImg as string);
    expect(await emptyVolume(path.join(base, "cache"), qemuImg as string)).toBe(empty);
    expect(fs.statSync(empty).mode & 0o777).toBe(0o444);
    // An empty root: no lost+found (a fresh /workspace is empty).
    const raw = path.join(base, "empty.raw");
    spawnSync(qemuImg as string, ["convert", "-O", "raw", empty, raw]);
    const ls = spawnSync("/usr/sbin/debugfs", ["-R", "ls /", raw], { encoding: "utf8" });
    expect(ls.stdout).not.toContain("lost+found");
    expect(ls.stdout).toContain("..");
    const sandbox = path.join(base, "ws");
    const dir = volumeDir(sandbox);
    await createVolume(dir, empty, qemuImg as string);
    const index = readIndex(dir);
    expect(index?.top).toBeTruthy();
    const top = index?.top as string;
    const bottom = index?.layers[top]?.parent as string;
    expect(backingChain(layerFile(dir, top))).toEqual([
      layerFile(dir, top),
      layerFile(dir, bottom),
    ]);
    // Linked into another directory, the relative names resolve there.
    const other = path.join(base, "other");
    fs.mkdirSync(other);
    for (const id of [top, bottom]) fs.linkSync(layerFile(dir, id), layerFile(other, id));
    expect(backingChain(layerFile(other, top))).toEqual([
      layerFile(other, top),
      layerFile(other, bottom),
    ]);
  });

  it("collects what no root reaches, keeps a middle layer, finishes a seal with no qemu", async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-volume-"));
    const empty = await emptyVolume(path.join(base, "cache"), qemuImg as string);
    const sandbox = path.join(base, "ws");
    const dir = volumeDir(sandbox);
    await createVolume(dir, empty, qemuImg as string);
    const index = readIndex(dir) as NonNullable<ReturnType<typeof readIndex>>;
    const bottom = index.layers[index.top as string]?.parent as string;
    // bottom <- s1 <- s2 <- top, as three seals would leave it.
    const s1 = index.top as string;
    await createOverlayFile(qemuImg as string, dir, "s2", s1);
    await createOverlayFile(qemuImg as string, dir, "top2", "s2");
    index.layers.s2 = { parent: s1 };
    index.layers.top2 = { parent: "s2" };
    index.top = "top2";
    index.points = { baseline: bottom, s1, s2: "s2" };
    writeIndex(dir, index);
    fs.writeFileSync(path.join(dir, "stray.qcow2"), "left by a killed reset");
    collectGarbage(dir, index, ["baseline", "s2"]);
    const after = readIndex(dir);
    expect(Object.keys(after?.points ?? {}).sort()).toEqual(["baseline", "s2"]);
    expect(Object.keys(after?.layers ?? {}).sort()).toEqual([bottom, s1, "s2", "top2"].sort());
    expect(fs.existsSync(path.join(dir, "stray.qcow2"))).toBe(false);

    // A seal killed after its intent, qemu gone: the new top holds nothing yet, so it is
    // the top (everything written before is in the old one, now the point).
    await createOverlayFile(qemuImg as string, dir, "next", "top2");
    writeIndex(dir, {
      ...(after as typeof index),
      intent: { from: "top2", to: "next", name: "s3" },
    });
    await reconcileVolume(sandbox, null);
    const sealed = readIndex(dir);
    expect(sealed).toMatchObject({ top: "next", intent: null, points: { s3: "top2" } });
    expect(fs.statSync(layerFile(dir, "top2")).mode & 0o777).toBe(0o444);
    // Its metadata never written: the next reconcile with the live names drops the point.
    await reconcileVolume(sandbox, ["baseline", "s2"]);
    expect(readIndex(dir)?.points.s3).toBeUndefined();
    expect(readIndex(dir)?.layers.top2).toEqual({ parent: "s2" });
  });
});
