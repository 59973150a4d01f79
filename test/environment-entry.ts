/** A small but real environment cache entry for tests (no build from Debian packages). */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { agentFiles } from "../src/environments/agent-files.js";
import { RECIPE_VERSION } from "../src/environments/catalog.js";
import { findTool } from "../src/environments/host-tools.js";
import { MANIFEST_SCHEMA_VERSION, type EnvironmentManifest } from "../src/environments/manifest.js";
import { sha256File, type EnvironmentStore } from "../src/environments/store.js";

/**
 * Builds a valid `debian:12` entry: tiny kernel/initramfs files and a rootfs that is either a
 * few bytes or (withImage) a real ext4 image holding an old agent; `scratch` is a temp dir.
 */
export async function makeEntry(
  store: EnvironmentStore,
  scratch: string,
  options: { agentSha?: string; withImage?: boolean } = {},
): Promise<EnvironmentManifest> {
  const dir = store.entryDir("debian:12");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "vmlinuz"), "kernel bytes");
  fs.writeFileSync(path.join(dir, "initrd.img"), "initramfs bytes");
  const image = path.join(dir, "rootfs.ext4");
  if (options.withImage) {
    const tree = path.join(scratch, "tree");
    fs.mkdirSync(path.join(tree, "opt", "pyro"), { recursive: true });
    fs.writeFileSync(path.join(tree, "opt", "pyro", "pyro-agent.mjs"), "// an old agent\n");
    fs.writeFileSync(path.join(tree, "opt", "pyro", "pack-worker.mjs"), "// an old worker\n");
    execFileSync(findTool("mkfs.ext4") as string, ["-q", "-F", "-d", tree, image, "16M"]);
  } else {
    fs.writeFileSync(image, "rootfs bytes");
  }
  const artifact = async (file: string) => ({
    file,
    sha256: await sha256File(path.join(dir, file)),
    bytes: fs.statSync(path.join(dir, file)).size,
  });
  const manifest: EnvironmentManifest = {
    schema_version: MANIFEST_SCHEMA_VERSION,
    name: "debian:12",
    recipe_version: RECIPE_VERSION,
    built_at: Date.now() / 1000,
    debian_suite: "bookworm",
    kernel: { ...(await artifact("vmlinuz")), package: "linux-image-test", version: "6.1.0-test" },
    initramfs: await artifact("initrd.img"),
    rootfs: { ...(await artifact("rootfs.ext4")), format: "ext4" },
    agent: {
      version: "0.1.0",
      protocol_version: 1,
      sha256: options.agentSha ?? agentFiles().sha256,
    },
    packages: { nodejs: "18.20.4" },
  };
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  return manifest;
}
