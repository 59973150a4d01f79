import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

import { ENVIRONMENTS } from "../shared/limits.js";
import { NotFoundError, PyroError } from "../errors.js";
import { writeJsonAtomic } from "../store/atomic.js";
import { readRecord } from "../store/records.js";
import { agentFiles } from "./agent-files.js";
import { RECIPES, RECIPE_VERSION, entryDirName, type EnvironmentName } from "./catalog.js";
import { ManifestSchema, type Artifact, type EnvironmentManifest } from "./manifest.js";

type EntryStatus = "installed" | "missing" | "broken" | "stale";

interface EntryCheck {
  status: EntryStatus;
  /** Why the entry is not `installed`; null when it is. */
  reason: string | null;
  manifest: EnvironmentManifest | null;
  /** True when the guest agent inside differs from this pyro's agent (pull refreshes it). */
  agent_outdated: boolean;
}

/** The files of an entry a boot needs, by absolute path. */
export interface BootArtifacts {
  name: EnvironmentName;
  dir: string;
  kernel: string;
  initramfs: string;
  rootfs: string;
  manifest: EnvironmentManifest;
}

const STAMP_FILE = ".verified.json";

/**
 * The environment cache (`~/.cache/pyro-mcp/environments` by default):
 *
 *   <name>/manifest.json      written last; no manifest = incomplete
 *   <name>/vmlinuz, initrd.img, rootfs.ext4
 *   <name>/.verified.json     size+mtime of each artifact when its digest last matched
 *   .staging/<name>-<random>/ pulls build here, then rename into place
 *   .downloads/               debootstrap's and the kernel's .deb cache
 *   .locks/<name>.lock        one pull (or agent refresh) per entry at a time
 */
export class EnvironmentStore {
  constructor(readonly cacheDir: string) {}

  entryDir(name: EnvironmentName): string {
    return path.join(this.cacheDir, entryDirName(name));
  }
  get stagingDir(): string {
    return path.join(this.cacheDir, ".staging");
  }
  get downloadsDir(): string {
    return path.join(this.cacheDir, ".downloads");
  }
  lockPath(name: EnvironmentName): string {
    return path.join(this.cacheDir, ".locks", `${entryDirName(name)}.lock`);
  }

  async readManifest(name: EnvironmentName): Promise<EnvironmentManifest | null> {
    return readRecord(path.join(this.entryDir(name), "manifest.json"), ManifestSchema);
  }

  /**
   * Checks an entry. `full` hashes every artifact (what `env list`, `inspect` and `pull`
   * do); otherwise a stamp of sizes and mtimes taken at the last full check stands in for
   * the digests, so a boot does not re-read a gigabyte image each time.
   */
  async check(name: EnvironmentName, options: { full: boolean }): Promise<EntryCheck> {
    let manifest: EnvironmentManifest | null;
    try {
      manifest = await this.readManifest(name);
    } catch (error) {
      return broken(`manifest is unreadable: ${(error as Error).message}`);
    }
    if (!manifest) {
      return (await exists(this.entryDir(name)))
        ? broken("manifest.json is missing (an interrupted pull?)")
        : { status: "missing", reason: "not pulled yet", manifest: null, agent_outdated: false };
    }
    const dir = this.entryDir(name);
    const artifacts = [manifest.kernel, manifest.initramfs, manifest.rootfs];
    const stamp = options.full ? null : await readStamp(dir);
    let stampMatches = stamp !== null;
    for (const artifact of artifacts) {
      const file = path.join(dir, artifact.file);
      const stat = await fs.stat(file).catch(() => null);
      if (!stat) return broken(`${artifact.file} is missing`, manifest);
      if (stat.size !== artifact.bytes) {
        return broken(
          `${artifact.file} has ${stat.size} bytes, expected ${artifact.bytes}`,
          manifest,
        );
      }
      if (stamp?.[artifact.file] !== stat.mtimeMs) stampMatches = false;
    }
    if (!stampMatches) {
      for (const artifact of artifacts) {
        const actual = await sha256File(path.join(dir, artifact.file));
        if (actual !== artifact.sha256) {
          return broken(`${artifact.file} does not match its sha256 digest`, manifest);
        }
      }
      await this.writeStamp(dir, artifacts);
    }
    const agentOutdated = manifest.agent.sha256 !== agentFiles().sha256;
    if (manifest.recipe_version !== RECIPE_VERSION) {
      return {
        status: "stale",
        reason: `built by recipe version ${manifest.recipe_version}, this pyro uses ${RECIPE_VERSION}`,
        manifest,
        agent_outdated: agentOutdated,
      };
    }
    return { status: "installed", reason: null, manifest, agent_outdated: agentOutdated };
  }

  async writeStamp(dir: string, artifacts: Artifact[]): Promise<void> {
    const stamp: Record<string, number> = {};
    for (const artifact of artifacts) {
      stamp[artifact.file] = (await fs.stat(path.join(dir, artifact.file))).mtimeMs;
    }
    await writeJsonAtomic(path.join(dir, STAMP_FILE), stamp);
  }

  /** What a boot needs, or an error that says how to get it. */
  async bootArtifacts(name: EnvironmentName): Promise<BootArtifacts> {
    const check = await this.check(name, { full: false });
    if (check.status === "missing") {
      throw new NotFoundError(
        `environment ${name} is not installed in ${this.cacheDir}; run \`pyro env pull ${name}\``,
        { environment: name, reason: "environment_not_pulled" },
      );
    }
    if (check.status !== "installed" || !check.manifest) {
      throw new PyroError(
        "backend_error",
        `environment ${name} is ${check.status} (${check.reason ?? "unknown"}); run \`pyro env pull ${name}\` to repair it`,
        { environment: name, reason: "environment_broken" },
      );
    }
    const dir = this.entryDir(name);
    return {
      name,
      dir,
      kernel: path.join(dir, check.manifest.kernel.file),
      initramfs: path.join(dir, check.manifest.initramfs.file),
      rootfs: path.join(dir, check.manifest.rootfs.file),
      manifest: check.manifest,
    };
  }

  /** One row per catalogued environment, installed or not. */
  async list(options: { full: boolean }) {
    const rows = [];
    for (const name of ENVIRONMENTS) rows.push(await this.describe(name, options));
    return rows;
  }

  async describe(name: EnvironmentName, options: { full: boolean }) {
    const check = await this.check(name, options);
    const manifest = check.manifest;
    return {
      name,
      description: RECIPES[name].description,
      installed: check.status === "installed",
      status: check.status,
      reason: check.reason,
      agent_outdated: check.agent_outdated,
      path: this.entryDir(name),
      size_bytes: manifest
        ? manifest.kernel.bytes + manifest.initramfs.bytes + manifest.rootfs.bytes
        : null,
      built_at: manifest?.built_at ?? null,
      kernel_version: manifest?.kernel.version ?? null,
      agent_version: manifest?.agent.version ?? null,
      packages: manifest?.packages ?? {},
    };
  }

  /**
   * Removes what no boot can use: leftover staging dirs of interrupted pulls, the download
   * cache, entries that are broken or stale, and (with `all`) every installed entry too.
   */
  async prune(options: { all: boolean }): Promise<{ removed: string[]; kept: string[] }> {
    const removed: string[] = [];
    const kept: string[] = [];
    for (const extra of [this.stagingDir, this.downloadsDir]) {
      if (await exists(extra)) {
        await fs.rm(extra, { recursive: true, force: true });
        removed.push(path.basename(extra));
      }
    }
    for (const name of ENVIRONMENTS) {
      const check = await this.check(name, { full: false });
      if (check.status === "missing") continue;
      if (options.all || check.status !== "installed") {
        await fs.rm(this.entryDir(name), { recursive: true, force: true });
        removed.push(name);
      } else {
        kept.push(name);
      }
    }
    return { removed, kept };
  }
}

function broken(reason: string, manifest: EnvironmentManifest | null = null): EntryCheck {
  return { status: "broken", reason, manifest, agent_outdated: false };
}

async function readStamp(dir: string): Promise<Record<string, number> | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(path.join(dir, STAMP_FILE), "utf8")) as unknown;
    return typeof parsed === "object" && parsed !== null
      ? (parsed as Record<string, number>)
      : null;
  } catch {
    return null;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}
