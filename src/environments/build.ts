/**
 * A full environment build from Debian packages: debootstrap a root filesystem with the
 * guest agent in it, fetch the kernel, build the initramfs and the ext4 image, and install
 * the entry with its manifest. Needs root and the host tools below.
 */
import fs from "node:fs/promises";
import path from "node:path";

import { PyroError } from "../errors.js";
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
import { MANIFEST_SCHEMA_VERSION, type EnvironmentManifest } from "./manifest.js";
import { phaseReporter, type ProgressListener } from "./progress.js";
import { agentRecord, artifact, installEntry, withStaging } from "./staging.js";
import type { EnvironmentStore } from "./store.js";

/** Free space the root filesystem gets on top of what the packages use. */
const ROOTFS_HEADROOM_BYTES = 1024 * 1024 * 1024;

/** Packages whose versions the manifest records (when installed). */
const NOTABLE_PACKAGES = [
  "nodejs",
  "git",
  "bash",
  "coreutils",
  "tini",
  "gcc-12",
  "make",
  "curl",
  "npm",
];

const BUILD_TOOLS = [
  "debootstrap",
  "mkfs.ext4",
  "cpio",
  "depmod",
  "apt-get",
  "apt-cache",
  "dpkg-deb",
  "du",
  "chroot",
] as const;
type Tools = Record<string, string>;

/** What the steps of one build share: where they write and with what. */
interface Build {
  store: EnvironmentStore;
  name: EnvironmentName;
  tools: Tools;
  staging: string;
  rootfs: string;
  /** The entry being assembled: vmlinuz, initrd.img, rootfs.ext4, manifest.json. */
  entry: string;
}

export async function buildEnvironment(
  store: EnvironmentStore,
  name: EnvironmentName,
  options: { mirror?: string; onProgress?: ProgressListener },
): Promise<EnvironmentManifest> {
  const phase = phaseReporter(8, options.onProgress);
  phase(`checking host tools for ${name}`);
  const tools = requireBuildHost(name);
  return withStaging(store, name, async (staging) => {
    const build: Build = {
      store,
      name,
      tools,
      staging,
      rootfs: path.join(staging, "rootfs"),
      entry: path.join(staging, "entry"),
    };
    await fs.mkdir(build.entry);
    const recipe = RECIPES[name];
    phase(`bootstrapping Debian ${DEBIAN_SUITE} (${recipe.packages.length} extra packages)`);
    await bootstrapDebian(build, recipe.packages, options.mirror);
    await aptInstall(build, recipe.aptPackages ?? []);

    phase("installing the pyro guest agent");
    const agent = agentFiles();
    await installGuestFiles(build.rootfs, agent.files);
    await trimRootfs(build.rootfs);
    const packages = await installedPackages(build.rootfs);

    phase(`downloading the kernel (${KERNEL_META_PACKAGE})`);
    const kernelDeb = await downloadKernel(store, tools);
    const kernel = await installKernel(build, kernelDeb.file);

    phase("building the initramfs");
    await buildInitramfs({
      workDir: staging,
      kernelRoot: path.join(staging, "kernel"),
      kernelVersion: kernel.version,
      busybox: path.join(build.rootfs, "bin", "busybox"),
      output: path.join(build.entry, "initrd.img"),
      cpio: tools.cpio as string,
    });

    phase("creating the ext4 root filesystem image");
    await makeRootfsImage(build);

    phase("computing digests");
    const manifest = await entryManifest(build, kernelDeb.package, kernel.version, agent, packages);
    phase(`installing into ${store.entryDir(name)}`);
    await installEntry(store, name, build.entry, staging, manifest);
    return manifest;
  });
}

/** The manifest of the assembled entry: versions and the digest of every artifact. */
async function entryManifest(
  build: Build,
  kernelPackage: string,
  kernelVersion: string,
  agent: { sha256: string; version: string },
  packages: Record<string, string>,
): Promise<EnvironmentManifest> {
  return {
    schema_version: MANIFEST_SCHEMA_VERSION,
    name: build.name,
    recipe_version: RECIPE_VERSION,
    built_at: Date.now() / 1000,
    debian_suite: DEBIAN_SUITE,
    kernel: {
      ...(await artifact(build.entry, "vmlinuz")),
      package: kernelPackage,
      version: kernelVersion,
    },
    initramfs: await artifact(build.entry, "initrd.img"),
    rootfs: { ...(await artifact(build.entry, "rootfs.ext4")), format: "ext4" },
    agent: agentRecord(agent),
    packages,
  };
}

/** The host tools a build runs, and root (debootstrap creates device nodes and chroots). */
function requireBuildHost(name: EnvironmentName): Tools {
  const tools = requireTools([...BUILD_TOOLS], `building environment ${name}`);
  if (process.getuid?.() !== 0) {
    throw new PyroError(
      "backend_error",
      `building environment ${name} needs root (debootstrap creates device nodes and chroots); run \`sudo pyro env pull ${name}\``,
    );
  }
  return tools;
}

/** A minimal Debian with the recipe's packages, the .debs cached across builds. */
async function bootstrapDebian(
  build: Build,
  packages: readonly string[],
  mirrorOption: string | undefined,
): Promise<void> {
  const mirror = mirrorOption ?? process.env.PYRO_DEBIAN_MIRROR ?? DEFAULT_DEBIAN_MIRROR;
  const debCache = path.join(build.store.downloadsDir, "debootstrap");
  await fs.mkdir(debCache, { recursive: true });
  await runTool(
    build.tools.debootstrap as string,
    [
      "--variant=minbase",
      `--include=${packages.join(",")}`,
      `--cache-dir=${debCache}`,
      DEBIAN_SUITE,
      build.rootfs,
      mirror,
    ],
    { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } },
  );
}

/**
 * apt-get install inside the new root (see EnvironmentRecipe.aptPackages), from the
 * sources debootstrap wrote, with the host's resolver for the download. trimRootfs drops
 * the lists and .debs afterwards.
 */
async function aptInstall(build: Build, packages: readonly string[]): Promise<void> {
  if (packages.length === 0) return;
  const resolvConf = path.join(build.rootfs, "etc", "resolv.conf");
  await fs.rm(resolvConf, { force: true });
  await fs.copyFile("/etc/resolv.conf", resolvConf);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args: string[]) =>
    runTool(build.tools.chroot as string, [build.rootfs, "apt-get", "-q", ...args], { env });
  try {
    await apt(["update"]);
    await apt(["install", "-y", "--no-install-recommends", ...packages]);
  } finally {
    await fs.rm(resolvConf, { force: true });
  }
}

/** Unpacks the kernel package (modules for the initramfs) and puts vmlinuz in the entry. */
async function installKernel(build: Build, deb: string): Promise<{ version: string }> {
  const kernel = await unpackKernel({
    deb,
    into: path.join(build.staging, "kernel"),
    dpkgDeb: build.tools["dpkg-deb"] as string,
    depmod: build.tools.depmod as string,
  });
  await fs.copyFile(kernel.vmlinuz, path.join(build.entry, "vmlinuz"));
  return kernel;
}

/** The root filesystem as an ext4 image, sized to what it holds plus headroom. */
async function makeRootfsImage(build: Build): Promise<void> {
  const du = await runTool(build.tools.du as string, ["-sb", build.rootfs]);
  const used = Number(du.stdout.split(/\s/)[0]);
  const sizeMib = Math.ceil((used * 1.1 + ROOTFS_HEADROOM_BYTES) / (1024 * 1024));
  // No journal: the disk a guest writes is a throwaway overlay, and journaling costs a
  // lot under software emulation.
  await runTool(build.tools["mkfs.ext4"] as string, [
    "-q",
    "-F",
    "-L",
    "pyro-root",
    "-O",
    "^has_journal",
    "-E",
    "root_owner=0:0",
    "-d",
    build.rootfs,
    path.join(build.entry, "rootfs.ext4"),
    `${sizeMib}M`,
  ]);
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
      {},
      { cause: error },
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
