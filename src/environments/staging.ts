/**
 * Where environment entries are built: a staging directory next to the store, and the swap
 * that makes a finished entry visible all at once.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

import { PROTOCOL_MAX } from "../protocol/negotiate.js";
import { writeJsonAtomic } from "../store/atomic.js";
import type { EnvironmentName } from "./catalog.js";
import type { Artifact, EnvironmentManifest } from "./manifest.js";
import type { EnvironmentStore } from "./store.js";
import { sha256File } from "./store.js";

/** Runs `build` in a fresh staging directory, removed afterwards whatever happens. */
export async function withStaging<T>(
  store: EnvironmentStore,
  name: EnvironmentName,
  build: (staging: string) => Promise<T>,
): Promise<T> {
  const staging = await makeStaging(store, name);
  try {
    return await build(staging);
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
export async function installEntry(
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

/** The manifest's record of the agent this pyro installs. */
export function agentRecord(agent: {
  sha256: string;
  version: string;
}): EnvironmentManifest["agent"] {
  return { version: agent.version, protocol_version: PROTOCOL_MAX, sha256: agent.sha256 };
}

export async function artifact(dir: string, file: string): Promise<Artifact> {
  const full = path.join(dir, file);
  return { file, sha256: await sha256File(full), bytes: (await fs.stat(full)).size };
}
