import fs from "node:fs/promises";
import path from "node:path";

import { checkEnvironment } from "../shared/limits.js";
import { handOver, sudoInvoker } from "../store/invoking-user.js";
import { withLock } from "../store/lock.js";
import { agentFiles } from "./agent-files.js";
import { buildEnvironment } from "./build.js";
import type { EnvironmentName } from "./catalog.js";
import { GUEST_AGENT_DIR } from "./guest-boot-files.js";
import { requireTools, runTool } from "./host-tools.js";
import type { EnvironmentManifest } from "./manifest.js";
import { phaseReporter, type ProgressListener } from "./progress.js";
import { agentRecord, artifact, installEntry, withStaging } from "./staging.js";
import type { EnvironmentStore } from "./store.js";

interface PullOptions {
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

const PULL_LOCK_WAIT_MS = 30 * 60_000;

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
  const pulled = await withLock(
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
  await handOverToSudoUser(store);
  return pulled;
}

/**
 * `sudo pyro env pull` (building needs root) leaves a cache its invoking user owns, so their
 * own pyro can read the image and refresh its agent later (see store/invoking-user.ts).
 */
async function handOverToSudoUser(store: EnvironmentStore): Promise<void> {
  const invoker = sudoInvoker();
  if (invoker) await handOver(store.cacheDir, invoker);
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
  await handOverToSudoUser(store);
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
  return withStaging(store, name, async (staging) => {
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
      agent: agentRecord(agent),
    };
    phase(`installing into ${store.entryDir(name)}`);
    await installEntry(store, name, entry, staging, manifest);
    return manifest;
  });
}
