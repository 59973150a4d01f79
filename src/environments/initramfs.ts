import fs from "node:fs/promises";
import path from "node:path";
import { createGzip } from "node:zlib";
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";

import { PyroError } from "../errors.js";
import { INITRAMFS_MODULES } from "./catalog.js";
import { INITRAMFS_INIT } from "./guest-boot-files.js";
import { runTool } from "./host-tools.js";

/**
 * Resolves the modules the initramfs must load, dependencies first, from the modules.dep
 * that `depmod -b` generated for the extracted kernel package.
 */
async function moduleLoadOrder(modulesDir: string, wanted: string[]): Promise<string[]> {
  const depFile = path.join(modulesDir, "modules.dep");
  const lines = (await fs.readFile(depFile, "utf8")).split("\n");
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of lines) {
    const [file, rest] = line.split(":");
    if (!file || rest === undefined) continue;
    deps.set(file, rest.trim() ? rest.trim().split(/\s+/) : []);
    byName.set(moduleName(file), file);
  }
  const order: string[] = [];
  const visit = (file: string): void => {
    if (order.includes(file)) return;
    for (const dependency of deps.get(file) ?? []) visit(dependency);
    order.push(file);
  };
  for (const name of wanted) {
    const file = byName.get(name.replace(/-/g, "_")) ?? byName.get(name);
    if (!file) {
      throw new PyroError("backend_error", `kernel module ${name} is not in ${depFile}`);
    }
    visit(file);
  }
  return order;
}

function moduleName(file: string): string {
  return path
    .basename(file)
    .replace(/\.ko(\.[a-z]+)?$/, "")
    .replace(/-/g, "_");
}

/**
 * Builds a gzip'd newc initramfs: busybox (static, taken from the rootfs), the virtio
 * modules of the kernel, and /init. cpio writes the archive; zlib compresses it.
 */
export async function buildInitramfs(options: {
  workDir: string;
  kernelRoot: string;
  kernelVersion: string;
  busybox: string;
  output: string;
  cpio: string;
}): Promise<void> {
  const tree = path.join(options.workDir, "initramfs");
  await fs.rm(tree, { recursive: true, force: true });
  await fs.mkdir(path.join(tree, "bin"), { recursive: true });
  await fs.mkdir(path.join(tree, "modules"), { recursive: true });
  await fs.copyFile(options.busybox, path.join(tree, "bin", "busybox"));
  await fs.chmod(path.join(tree, "bin", "busybox"), 0o755);
  await fs.writeFile(path.join(tree, "init"), INITRAMFS_INIT, { mode: 0o755 });

  const modulesDir = path.join(options.kernelRoot, "lib", "modules", options.kernelVersion);
  const order = await moduleLoadOrder(modulesDir, INITRAMFS_MODULES);
  const names: string[] = [];
  for (const file of order) {
    const name = path.basename(file).replace(/\.ko$/, "");
    if (file.endsWith(".ko.xz") || file.endsWith(".ko.zst")) {
      throw new PyroError("backend_error", `compressed kernel modules are not supported: ${file}`);
    }
    await fs.copyFile(path.join(modulesDir, file), path.join(tree, "modules", `${name}.ko`));
    names.push(name);
  }
  await fs.writeFile(path.join(tree, "modules.list"), `${names.join("\n")}\n`);

  const entries = await listTree(tree);
  const archive = path.join(options.workDir, "initramfs.cpio");
  await runCpio(options.cpio, tree, entries, archive);
  await pipeline(
    (await fs.open(archive)).createReadStream(),
    createGzip({ level: 6 }),
    createWriteStream(options.output),
  );
  await fs.rm(archive, { force: true });
}

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(root, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      out.push(child);
      if (entry.isDirectory()) await walk(child);
    }
  };
  await walk("");
  return out.sort();
}

async function runCpio(
  cpio: string,
  cwd: string,
  entries: string[],
  output: string,
): Promise<void> {
  const child = spawn(cpio, ["--quiet", "-o", "-H", "newc", "-R", "0:0"], {
    cwd,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve, reject) => {
    child.once("error", (error) =>
      reject(new PyroError("backend_error", `cpio: ${error.message}`, {}, { cause: error })),
    );
    child.once("close", (code) =>
      code === 0
        ? resolve()
        : reject(new PyroError("backend_error", `cpio exited with code ${code}: ${stderr.trim()}`)),
    );
  });
  child.stdin.end(`${entries.join("\n")}\n`);
  await Promise.all([pipeline(child.stdout, createWriteStream(output)), exited]);
}

/** Extracts a kernel package and generates modules.dep for it. */
export async function unpackKernel(options: {
  deb: string;
  into: string;
  dpkgDeb: string;
  depmod: string;
}): Promise<{ version: string; vmlinuz: string }> {
  await fs.mkdir(options.into, { recursive: true });
  await runTool(options.dpkgDeb, ["-x", options.deb, options.into]);
  const versions = await fs.readdir(path.join(options.into, "lib", "modules"));
  const version = versions[0];
  if (!version || versions.length !== 1) {
    throw new PyroError(
      "backend_error",
      `expected one kernel in ${options.deb}, found ${versions.length}`,
    );
  }
  await runTool(options.depmod, ["-b", options.into, version]);
  return { version, vmlinuz: path.join(options.into, "boot", `vmlinuz-${version}`) };
}
