/**
 * The host side of booted-guest templates (src/backends/qemu/templates.ts), without a guest:
 * the key follows the sandbox's shape and not its paths, and the store builds a template
 * once under its lock, takes over from a builder killed with SIGKILL, and never uses a
 * damaged template. The guest side is in templates-qemu.test.ts.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { findQemu } from "../src/backends/qemu/detect.js";
import { qemuArgs } from "../src/backends/qemu/qemu-args.js";
import { qemuPaths } from "../src/backends/qemu/runtime-files.js";
import { templateArgs, templateShape } from "../src/backends/qemu/template-shape.js";
import { TemplateStore } from "../src/backends/qemu/templates.js";
import type { EnvironmentManifest } from "../src/environments/manifest.js";

import { withEnv } from "./helpers.js";

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-templates-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const artifact = (file: string) => ({ file, sha256: "0".repeat(64), bytes: 1 });
function fakeArtifacts(dir: string) {
  const rootfs = path.join(dir, "rootfs.ext4");
  fs.writeFileSync(rootfs, "image");
  const manifest = {
    schema_version: 1,
    name: "debian:12",
    recipe_version: 3,
    built_at: 0,
    debian_suite: "bookworm",
    kernel: { ...artifact("vmlinuz"), package: "linux", version: "6.1" },
    initramfs: artifact("initrd.img"),
    rootfs: { ...artifact("rootfs.ext4"), format: "ext4" },
    agent: { version: "0.1.0+x", protocol_version: 2, sha256: "a".repeat(64) },
    packages: {},
  } as unknown as EnvironmentManifest;
  return {
    kernel: path.join(dir, "vmlinuz"),
    initramfs: path.join(dir, "initrd.img"),
    rootfs,
    manifest,
  };
}

/** A finished build's three files, as buildTemplate hands them over. */
function fakeBuild(buildDir: string): { state: string; disk: string; ram: string } {
  fs.writeFileSync(path.join(buildDir, "state.tmp"), "QEVM state");
  fs.writeFileSync(path.join(buildDir, "ram.tmp"), "ram");
  fs.mkdirSync(path.join(buildDir, "runtime"));
  fs.writeFileSync(path.join(buildDir, "runtime", "disk.qcow2"), "disk");
  return {
    state: path.join(buildDir, "state.tmp"),
    disk: path.join(buildDir, "runtime", "disk.qcow2"),
    ram: path.join(buildDir, "ram.tmp"),
  };
}

const noSweep = async (): Promise<void> => undefined;

describe("template keys", () => {
  it("follow the shape (memory, devices, agent) and not the sandbox's own paths", async ({
    skip,
  }) => {
    const qemu = findQemu();
    if (!qemu) skip("qemu-system-x86_64 is not installed");
    const dir = tempDir();
    const artifacts = fakeArtifacts(dir);
    const spec = { vcpuCount: 1, memMib: 1024 };
    const shapeOf = (sandboxDir: string, memMib = 1024, extra: string[] = [], balloon = true) => {
      const paths = qemuPaths(sandboxDir);
      const args = [...qemuArgs({ ...spec, memMib }, artifacts, paths, "tcg"), ...extra];
      return templateShape(qemu as string, "tcg", artifacts, args, paths, balloon);
    };
    await withEnv({ PYRO_QEMU_TEMPLATES: "1" }, async () => {
      const a = shapeOf(path.join(dir, "one"));
      const b = shapeOf(path.join(dir, "two"));
      expect(a.key).toMatch(/^[0-9a-f]{32}$/);
      expect(b.key).toBe(a.key);
      expect(shapeOf(path.join(dir, "one"), 512).key).not.toBe(a.key);
      // Guests restored without the private-discard guard have no balloon: another device set.
      expect(shapeOf(path.join(dir, "one"), 1024, [], false).key).not.toBe(a.key);
      expect(shapeOf(path.join(dir, "one"), 1024, ["-device", "virtio-gpu-device"]).key).not.toBe(
        a.key,
      );
      expect(shapeOf(path.join(dir, "one"), 1024, ["-netdev", "user,id=net0"])).toEqual({
        key: null,
        reason: "sandboxes with a network device are not restored from templates",
      });
      artifacts.manifest.agent.sha256 = "b".repeat(64);
      expect(shapeOf(path.join(dir, "one")).key).not.toBe(a.key);
    });
    await withEnv({ PYRO_QEMU_TEMPLATES: "0" }, async () => {
      expect(shapeOf(path.join(dir, "one")).key).toBeNull();
    });
  });

  it("follow qemu's file, without running it (no `--version` per process)", async () => {
    const dir = tempDir();
    const artifacts = fakeArtifacts(dir);
    const ran = path.join(dir, "qemu-ran");
    const qemu = path.join(dir, "qemu-system-x86_64");
    fs.writeFileSync(
      qemu,
      `#!/bin/sh\ntouch ${JSON.stringify(ran)}\necho "QEMU emulator version 9"\n`,
      { mode: 0o755 },
    );
    await withEnv({ PYRO_QEMU_TEMPLATES: "1" }, async () => {
      const paths = qemuPaths(path.join(dir, "one"));
      const args = qemuArgs({ vcpuCount: 1, memMib: 1024 }, artifacts, paths, "tcg");
      const before = templateShape(qemu, "tcg", artifacts, args, paths, true).key;
      expect(before).toMatch(/^[0-9a-f]{32}$/);
      expect(fs.existsSync(ran)).toBe(false);
      // An upgrade replaces the binary: another file, another key.
      fs.rmSync(qemu);
      fs.writeFileSync(qemu, "#!/bin/sh\necho upgraded\n", { mode: 0o755 });
      expect(templateShape(qemu, "tcg", artifacts, args, paths, true).key).not.toBe(before);
    });
  });
});

describe("the template store", () => {
  it("builds a template once when creates race for it, and never a damaged one", async () => {
    const store = new TemplateStore(tempDir());
    let builds = 0;
    const build = async (buildDir: string) => {
      builds += 1;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return fakeBuild(buildDir);
    };
    const key = "1".repeat(32);
    const [one, two] = await Promise.all([
      store.obtain(key, { environment: "debian:12" }, 10_000, build, noSweep),
      store.obtain(key, { environment: "debian:12" }, 10_000, build, noSweep),
    ]);
    expect(builds).toBe(1);
    expect(one.dir).toBe(two.dir);
    expect(fs.readdirSync(one.dir).sort()).toEqual([
      "disk.qcow2",
      "manifest.json",
      "ram.bin",
      "state.mig",
    ]);
    expect(fs.statSync(one.disk).mode & 0o222).toBe(0);
    expect(fs.readdirSync(store.root).sort()).toEqual([".locks", key]);

    // A truncated state file does not match its manifest: rebuilt, never used.
    fs.chmodSync(one.state, 0o644);
    fs.truncateSync(one.state, 2);
    expect(await store.find(key)).toEqual({
      missing: "its files do not match its manifest (damaged)",
    });
    await store.obtain(key, { environment: "debian:12" }, 10_000, build, noSweep);
    expect(builds).toBe(2);
    expect("dir" in (await store.find(key))).toBe(true);
  });

  it("takes over from a builder killed with SIGKILL: its lock and build directory go", async () => {
    const store = new TemplateStore(tempDir());
    const key = "2".repeat(32);
    // A builder that died mid-build: a lock naming a dead process, a half-done build.
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => dead.once("exit", resolve));
    fs.mkdirSync(path.join(store.root, ".locks"), { recursive: true });
    fs.writeFileSync(
      path.join(store.root, ".locks", `${key}.lock`),
      JSON.stringify({ pid: dead.pid, start_ticks: 1 }),
    );
    const leftover = path.join(store.root, `.build-${key}-${String(dead.pid)}`);
    fs.mkdirSync(leftover);
    fs.writeFileSync(path.join(leftover, "state.tmp"), "half");
    const swept: string[] = [];
    const template = await store.obtain(
      key,
      { environment: "debian:12" },
      10_000,
      async (buildDir) => fakeBuild(buildDir),
      async (dir) => {
        swept.push(dir);
      },
    );
    expect(swept).toEqual([leftover]);
    expect(fs.existsSync(leftover)).toBe(false);
    expect(fs.existsSync(path.join(store.root, ".locks", `${key}.lock`))).toBe(false);
    expect(fs.existsSync(template.state)).toBe(true);
  });

  it("keeps nothing of a build that failed", async () => {
    const store = new TemplateStore(tempDir());
    const key = "3".repeat(32);
    await expect(
      store.obtain(
        key,
        {},
        10_000,
        async () => {
          throw new Error("the guest did not boot");
        },
        noSweep,
      ),
    ).rejects.toThrow("the guest did not boot");
    expect(fs.readdirSync(store.root)).toEqual([".locks"]);
    expect(fs.readdirSync(path.join(store.root, ".locks"))).toEqual([]);
  });
});

describe("a template guest's command line", () => {
  it("puts the RAM in a file, leaves it out of the stream, and drops the balloon without the guard", () => {
    const args = ["-m", "1024M", "-device", "virtio-balloon-device,free-page-reporting=on"];
    const build = templateArgs([...args, "-device", "virtio-rng-device"], 1024, "/t/a,b", {
      share: true,
      balloon: false,
    });
    expect(build).toEqual([
      "-m",
      "1024M",
      "-device",
      "virtio-rng-device",
      "-object",
      "memory-backend-file,id=pyro-ram,size=1024M,mem-path=/t/a,,b,share=on",
      "-machine",
      "memory-backend=pyro-ram",
    ]);
    // A restore maps the template's RAM privately: its writes never reach the file.
    const restore = templateArgs(args, 512, "/t/ram.bin", { share: false, balloon: true });
    expect(restore).toContain(
      "memory-backend-file,id=pyro-ram,size=512M,mem-path=/t/ram.bin,share=off",
    );
    // With the private-discard guard preloaded, a restored guest keeps its balloon.
    expect(restore).toContain("virtio-balloon-device,free-page-reporting=on");
  });
});
