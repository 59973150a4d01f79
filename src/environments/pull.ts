import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

import { PROTOCOL_MAX } from "../protocol/negotiate.js";
import { checkEnvironment } from "../core/limits.js";
import { PyroError } from "../errors.js";
import { writeJsonAtomic } from "../store/atomic.js";
import { withLock } from "../store/lock.js";
import { agentFiles } from "./agent-files.js";
import {
  DEBIAN_SUITE,
  DEFAULT_DEBIAN_MIRROR,
  KERNEL_META_PACKAGE,
  RECIPES,
  RECIPE_VERSION,
  type EnvironmentName,
} from "./catalog.js";
import { GUEST_AGENT_DIR, GUEST_INIT, GUEST_INIT_FILE } from "./guest-boot-files.js";
import { requireTools, runTool } from "./host-tools.js";
import { buildInitramfs, unpackKernel } from "./initramfs.js";
import { MANIFEST_SCHEMA_VERSION, type Artifact, type EnvironmentManifest } from "./manifest.js";
import { phaseReporter, type ProgressListener } from "./progress.js";
import type { EnvironmentStore } from "./store.js";
import { sha256File } from "./store.js";

export interface PullOptions {
  /** Rebuild even when a valid entry exists. */
  force?: boolean;
  onProgress?: ProgressListener;
  /** Debian mirror; default `$PYRO_DEBIAN_MIRROR` or deb.debian.org. */
  mirror?: string;
}

export interface PullResult {
  name: EnvironmentName;
  /** built: from packages; agent_refreshed: only the guest agent was replaced; cached: nothing to do. */
  action: "built" | "agent_refreshed" | "cached";
  path: string;
  duration_ms: number;
  manifest: EnvironmentManifest;
}

/** Free space the root filesystem gets on top of what the packages use. */
const ROOTFS_HEADROOM_BYTES = 1024 * 1024 * 1024;
const PULL_LOCK_WAIT_MS = 30 * 60_000;

/** Packages whose versions the manifest records (when installed). */
const NOTABLE_PACKAGES = ["nodejs", "git", "bash", "coreutils", "tini", "gcc-12", "make", "curl"];

/**
 * Makes `name` usable: nothing when the cached entry is valid, a quick agent refresh when
 * only the guest agent changed, a full build from Debian packages otherwise. Everything is
 * built in a staging directory and renamed into place, under a per-entry lock: an
 * interrupted pull leaves no entry that looks valid, and a second pull waits for the first
 * and then finds its result.
 */
export async function pullEnvironment(
  store: EnvironmentStore,
  rawName: string,
  options: PullOptions = {},
): Promise<PullResult> {
  const name = checkEnvironment(rawName) as EnvironmentName;
  const started = Date.now();
  return withLock(
    store.lockPath(name),
    async () => {
      const check = await store.check(name, { full: true });
      if (check.status === "installed" && check.manifest && !options.force) {
        if (!check.agent_outdated) {
          return result(name, "cached", store, started, check.manifest);
        }
        const manifest = await refreshAgent(store, name, check.manifest, options.onProgress);
        return result(name, "agent_refreshed", store, started, manifest);
      }
      const manifest = await buildEnvironment(store, name, options);
      return result(name, "built", store, started, manifest);
    },
    { waitMs: PULL_LOCK_WAIT_MS },
  );
}

/**
 * Used before a boot: repairs nothing heavy, but swaps in this pyro's agent when the image
 * carries another build of it, so host and guest always speak the same protocol.
 */
export async function ensureAgentCurrent(
  store: EnvironmentStore,
  name: EnvironmentName,
  onProgress?: ProgressListener,
): Promise<void> {
  const quick = await store.check(name, { full: false });
  if (quick.status !== "installed" || !quick.agent_outdated) return;
  await withLock(
    store.lockPath(name),
    async () => {
      const again = await store.check(name, { full: false });
      if (again.status === "installed" && again.agent_outdated && again.manifest) {
        await refreshAgent(store, name, again.manifest, onProgress);
      }
    },
    { waitMs: PULL_LOCK_WAIT_MS },
  );
}

function result(
  name: EnvironmentName,
  action: PullResult["action"],
  store: EnvironmentStore,
  started: number,
  manifest: EnvironmentManifest,
): PullResult {
  return { name, action, path: store.entryDir(name), duration_ms: Date.now() - started, manifest };
}

async function buildEnvironment(
  store: EnvironmentStore,
  name: EnvironmentName,
  options: PullOptions,
): Promise<EnvironmentManifest> {
  const phase = phaseReporter(8, options.onProgress);
  phase(`checking host tools for ${name}`);
  const tools = requireTools(
    ["debootstrap", "mkfs.ext4", "cpio", "depmod", "apt-get", "apt-cache", "dpkg-deb", "du"],
    `building environment ${name}`,
  );
  if (process.getuid?.() !== 0) {
    throw new PyroError(
      "backend_error",
      `building environment ${name} needs root (debootstrap creates device nodes and chroots); run \`sudo pyro env pull ${name}\``,
    );
  }
  const staging = await makeStaging(store, name);
  try {
    const rootfs = path.join(staging, "rootfs");
    const entry = path.join(staging, "entry");
    await fs.mkdir(entry);
    const mirror = options.mirror ?? process.env.PYRO_DEBIAN_MIRROR ?? DEFAULT_DEBIAN_MIRROR;
    const recipe = RECIPES[name];

    phase(`bootstrapping Debian ${DEBIAN_SUITE} (${recipe.packages.length} extra packages)`);
    const debCache = path.join(store.downloadsDir, "debootstrap");
    await fs.mkdir(debCache, { recursive: true });
    await runTool(
      tools.debootstrap as string,
      [
        "--variant=minbase",
        `--include=${recipe.packages.join(",")}`,
        `--cache-dir=${debCache}`,
        DEBIAN_SUITE,
        rootfs,
        mirror,
      ],
      { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } },
    );

    phase("installing the pyro guest agent");
    const agent = agentFiles();
    await installGuestFiles(rootfs, agent.files);
    await trimRootfs(rootfs);
    const packages = await installedPackages(rootfs);

    phase(`downloading the kernel (${KERNEL_META_PACKAGE})`);
    const kernelDeb = await downloadKernel(store, tools);
    const kernel = await unpackKernel({
      deb: kernelDeb.file,
      into: path.join(staging, "kernel"),
      dpkgDeb: tools["dpkg-deb"] as string,
      depmod: tools.depmod as string,
    });
    await fs.copyFile(kernel.vmlinuz, path.join(entry, "vmlinuz"));

    phase("building the initramfs");
    await buildInitramfs({
      workDir: staging,
      kernelRoot: path.join(staging, "kernel"),
      kernelVersion: kernel.version,
      busybox: path.join(rootfs, "bin", "busybox"),
      output: path.join(entry, "initrd.img"),
      cpio: tools.cpio as string,
    });

    phase("creating the ext4 root filesystem image");
    const used = Number((await runTool(tools.du as string, ["-sb", rootfs])).stdout.split(/\s/)[0]);
    const sizeMib = Math.ceil((used * 1.1 + ROOTFS_HEADROOM_BYTES) / (1024 * 1024));
    // No journal: the disk a guest writes is a throwaway overlay, and journaling costs a
    // lot under software emulation.
    await runTool(tools["mkfs.ext4"] as string, [
      "-q",
      "-F",
      "-L",
      "pyro-root",
      "-O",
      "^has_journal",
      "-E",
      "root_owner=0:0",
      "-d",
      rootfs,
      path.join(entry, "rootfs.ext4"),
      `${sizeMib}M`,
    ]);

    phase("computing digests");
    const manifest: EnvironmentManifest = {
      schema_version: MANIFEST_SCHEMA_VERSION,
      name,
      recipe_version: RECIPE_VERSION,
      built_at: Date.now() / 1000,
      debian_suite: DEBIAN_SUITE,
      kernel: {
        ...(await artifact(entry, "vmlinuz")),
        package: kernelDeb.package,
        version: kernel.version,
      },
      initramfs: await artifact(entry, "initrd.img"),
      rootfs: { ...(await artifact(entry, "rootfs.ext4")), format: "ext4" },
      agent: { version: agent.version, protocol_version: PROTOCOL_MAX, sha256: agent.sha256 },
      packages,
    };
    phase(`installing into ${store.entryDir(name)}`);
    await installEntry(store, name, entry, staging, manifest);
    return manifest;
  } finally {
    await fs.rm(staging, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Replaces the agent inside an existing image without rebuilding it: copy the image
 * (sparse), rewrite the agent files with debugfs (no mount, no root needed beyond file
 * access), and swap the entry. The kernel and initramfs are hard-linked across.
 */
async function refreshAgent(
  store: EnvironmentStore,
  name: EnvironmentName,
  current: EnvironmentManifest,
  onProgress?: ProgressListener,
): Promise<EnvironmentManifest> {
  const phase = phaseReporter(3, onProgress);
  phase(`refreshing the guest agent in ${name}`);
  const tools = requireTools(["debugfs", "cp"], `refreshing the guest agent in ${name}`);
  const staging = await makeStaging(store, name);
  try {
    const entry = path.join(staging, "entry");
    await fs.mkdir(entry);
    const from = store.entryDir(name);
    for (const file of [current.kernel.file, current.initramfs.file]) {
      await fs.link(path.join(from, file), path.join(entry, file));
    }
    const image = path.join(entry, current.rootfs.file);
    await runTool(tools.cp as string, [
      "--sparse=always",
      "--reflink=auto",
      path.join(from, current.rootfs.file),
      image,
    ]);
    const agent = agentFiles();
    const commands = agent.files.flatMap((file) => {
      const target = `${GUEST_AGENT_DIR}/${path.basename(file)}`;
      return [`rm ${target}`, `write ${file} ${target}`, `sif ${target} mode 0100644`];
    });
    const script = path.join(staging, "debugfs.cmds");
    await fs.writeFile(script, `${commands.join("\n")}\n`);
    await runTool(tools.debugfs as string, ["-w", "-f", script, image]);

    phase("computing digests");
    const manifest: EnvironmentManifest = {
      ...current,
      built_at: Date.now() / 1000,
      rootfs: { ...(await artifact(entry, current.rootfs.file)), format: "ext4" },
      agent: { version: agent.version, protocol_version: PROTOCOL_MAX, sha256: agent.sha256 },
    };
    phase(`installing into ${store.entryDir(name)}`);
    await installEntry(store, name, entry, staging, manifest);
    return manifest;
  } finally {
    await fs.rm(staging, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function makeStaging(store: EnvironmentStore, name: EnvironmentName): Promise<string> {
  await fs.mkdir(store.stagingDir, { recursive: true });
  const dir = path.join(
    store.stagingDir,
    `${path.basename(store.entryDir(name))}-${randomBytes(4).toString("hex")}`,
  );
  await fs.mkdir(dir);
  return dir;
}

/**
 * Finishes an entry built in `entry`: the manifest last (no manifest, no entry), the swap
 * into place, then the verified stamp, so the next boot need not hash it again.
 */
async function installEntry(
  store: EnvironmentStore,
  name: EnvironmentName,
  entry: string,
  staging: string,
  manifest: EnvironmentManifest,
): Promise<void> {
  await writeJsonAtomic(path.join(entry, "manifest.json"), manifest);
  await swapIntoPlace(store, name, entry, staging);
  await store.writeStamp(store.entryDir(name), [
    manifest.kernel,
    manifest.initramfs,
    manifest.rootfs,
  ]);
}

/** Old entry aside, new entry in, old entry gone: a reader never sees a half-written one. */
async function swapIntoPlace(
  store: EnvironmentStore,
  name: EnvironmentName,
  entry: string,
  staging: string,
): Promise<void> {
  const target = store.entryDir(name);
  const aside = path.join(staging, "previous");
  const hadPrevious = await fs.rename(target, aside).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return false;
      throw error;
    },
  );
  try {
    await fs.rename(entry, target);
  } catch (error) {
    if (hadPrevious) await fs.rename(aside, target).catch(() => undefined);
    throw error;
  }
}

async function installGuestFiles(rootfs: string, agentFilesToCopy: string[]): Promise<void> {
  const agentDir = path.join(rootfs, GUEST_AGENT_DIR);
  await fs.mkdir(agentDir, { recursive: true });
  for (const file of agentFilesToCopy) {
    await fs.copyFile(file, path.join(agentDir, path.basename(file)));
    await fs.chmod(path.join(agentDir, path.basename(file)), 0o644);
  }
  await fs.writeFile(path.join(rootfs, GUEST_INIT_FILE), GUEST_INIT, { mode: 0o755 });
  await fs.mkdir(path.join(rootfs, "workspace"), { recursive: true });
}

/** Drops what a guest never needs: downloaded .debs and apt lists. */
async function trimRootfs(rootfs: string): Promise<void> {
  for (const dir of ["var/cache/apt/archives", "var/lib/apt/lists"]) {
    const full = path.join(rootfs, dir);
    for (const entry of await fs.readdir(full).catch(() => [] as string[])) {
      if (entry.endsWith(".deb") || dir.endsWith("lists")) {
        await fs.rm(path.join(full, entry), { recursive: true, force: true });
      }
    }
  }
}

/** Reads dpkg's status database directly: no chroot needed to learn versions. */
async function installedPackages(rootfs: string): Promise<Record<string, string>> {
  const status = await fs.readFile(path.join(rootfs, "var/lib/dpkg/status"), "utf8");
  const versions: Record<string, string> = {};
  for (const stanza of status.split("\n\n")) {
    const pkg = /^Package: (.+)$/m.exec(stanza)?.[1];
    const version = /^Version: (.+)$/m.exec(stanza)?.[1];
    if (pkg && version && NOTABLE_PACKAGES.includes(pkg)) versions[pkg] = version;
  }
  return versions;
}

/** `apt-get download` of the versioned cloud kernel package, cached in the downloads dir. */
async function downloadKernel(
  store: EnvironmentStore,
  tools: Record<string, string>,
): Promise<{ package: string; file: string }> {
  const depends = await runTool(tools["apt-cache"] as string, [
    "depends",
    KERNEL_META_PACKAGE,
  ]).catch((error: Error) => {
    throw new PyroError(
      "backend_error",
      `cannot resolve ${KERNEL_META_PACKAGE} with apt (run \`apt-get update\` first?): ${error.message}`,
    );
  });
  const pkg = /Depends: (linux-image-[^\s]+)/.exec(depends.stdout)?.[1];
  if (!pkg) {
    throw new PyroError(
      "backend_error",
      `apt does not know ${KERNEL_META_PACKAGE}; add Debian's bookworm archive to apt's sources and run \`apt-get update\``,
    );
  }
  const dir = path.join(store.downloadsDir, "kernel");
  await fs.mkdir(dir, { recursive: true });
  const findDeb = async (): Promise<string | undefined> =>
    (await fs.readdir(dir)).find((file) => file.startsWith(`${pkg}_`) && file.endsWith(".deb"));
  let deb = await findDeb();
  if (!deb) {
    await runTool(tools["apt-get"] as string, ["download", "-q", pkg], { cwd: dir });
    deb = await findDeb();
  }
  if (!deb) throw new PyroError("backend_error", `apt-get download ${pkg} produced no .deb`);
  return { package: pkg, file: path.join(dir, deb) };
}

async function artifact(dir: string, file: string): Promise<Artifact> {
  const full = path.join(dir, file);
  return { file, sha256: await sha256File(full), bytes: (await fs.stat(full)).size };
}
