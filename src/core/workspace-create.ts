import fs from "node:fs/promises";
import path from "node:path";

import { NotFoundError, PyroError, ValidationError } from "../errors.js";
import { tempSibling, commitTemp } from "../store/atomic.js";
import { AgentClient } from "../protocol/client.js";
import type { WorkspaceRecord, WorkspaceSeed } from "../store/records.js";
import { claimActiveSlot } from "./active-slots.js";
import { checkHostPath } from "../shared/limits.js";
import { importArchive } from "./archive-import.js";
import type { ManagerContext } from "./context.js";
import { checkDirectoryWithinQuota, validateWithinQuota } from "./archive-quota.js";
import { reportProgress, type ProgressOptions } from "./progress.js";
import { exportViaDisk } from "./transfer-disk.js";
import { newId, saveWorkspace, withWorkspaceLock } from "./records-io.js";
import { checkSecrets, storeSecrets, type SecretInput } from "./secrets.js";
import { hardExpiryFor, touchActivity, writeActivity } from "./workspace-expiry.js";
import {
  assertNameFree,
  checkLabels,
  checkWorkspaceName,
  withUniqueName,
} from "./workspace-names.js";
import type * as ArchiveModuleNs from "../archive/index.js";
import type { Backend } from "../backends/index.js";
import { sealWorkspacePoint, usesVolume } from "./volume-snapshots.js";
import {
  bootSandbox,
  chooseBackend,
  destroyRuntime,
  newSandboxFields,
  removeTree,
  type SandboxInput,
} from "./sandbox.js";

/**
 * node-tar is loaded on first use, not with the runtime: a read-only CLI call (`pyro
 * workspace status`) then starts without it.
 */
type ArchiveModule = typeof ArchiveModuleNs;
const archives = (): Promise<ArchiveModule> => import("../archive/index.js");

export interface CreateWorkspaceInput extends SandboxInput {
  seed_path?: string | null;
  /** Create-time only; values stay on the host (src/core/secrets.ts). */
  secrets?: SecretInput[];
  /** Unique name (src/core/workspace-names.ts); the workspace can be addressed by it. */
  name?: string;
  labels?: Record<string, string>;
  /** Hard expiry, counted from creation, whatever the activity (ttl_seconds is the idle timeout). */
  max_lifetime_seconds?: number;
}

/** A seed or sync source, checked before anything is created. */
interface SourceArchive {
  mode: "directory" | "tar_archive";
  sourcePath: string;
  /** The input field it came from (seed_path, source_path), for messages. */
  field: string;
}

/**
 * Resolves and checks a host directory or archive given as `field`. An archive's members
 * are validated here only with `validateNow` (a seed: before a sandbox exists); otherwise
 * the upload's own pass validates them (uploadSource), so the archive is parsed once.
 */
export async function resolveSource(
  raw: string,
  field: string,
  options: { validateNow: boolean },
): Promise<SourceArchive> {
  checkHostPath(field, raw);
  const sourcePath = path.resolve(raw);
  const stat = await fs.stat(sourcePath).catch(() => null);
  if (!stat)
    throw new NotFoundError(`${field} does not exist: '${sourcePath}'`, { field, value: raw });
  if (stat.isDirectory()) {
    await checkDirectoryWithinQuota(sourcePath, field);
    return { mode: "directory", sourcePath, field };
  }
  if (!stat.isFile()) {
    throw new ValidationError(
      `${field} must be a directory or a .tar, .tar.gz or .tgz archive: '${sourcePath}'`,
      {
        field,
        value: raw,
      },
    );
  }
  (await archives()).archiveKind(sourcePath, field);
  // Refuse unsafe members (and archives over quota) before a sandbox exists, so a bad
  // archive costs nothing.
  if (options.validateNow) await validateWithinQuota(sourcePath, field);
  return { mode: "tar_archive", sourcePath, field };
}

/**
 * Streams a source into the sandbox at `destination`. Directories are packed to a temp
 * tar first (symlinks stay symlinks). The archive is validated here, member by member and
 * against the archive quotas, in the same pass that writes what is sent (see
 * importArchive); the agent validates it again unless it restores into a fresh, empty
 * /workspace of a real guest (`fresh`).
 */
export async function uploadSource(
  context: ManagerContext,
  record: WorkspaceRecord,
  source: SourceArchive,
  destination: string,
  stagingDir: string,
  options: { fresh: boolean; keepCopy?: string },
): Promise<{ entry_count: number; bytes_written: number }> {
  let file = source.sourcePath;
  let temp: string | null = null;
  try {
    if (source.mode === "directory") {
      await fs.mkdir(stagingDir, { recursive: true });
      temp = tempSibling(path.join(stagingDir, "source.tar"));
      await (await archives()).packDirectory(source.sourcePath, temp);
      file = temp;
    }
    // Both counts are known for an upload checked against the quotas.
    const { entry_count = 0, bytes_written = 0 } = await importArchive(
      context,
      record,
      file,
      destination,
      { ...options, quotaField: source.field },
    );
    return { entry_count, bytes_written };
  } finally {
    if (temp) await fs.rm(temp, { force: true });
  }
}

type ExportResult = {
  artifact_type: "file" | "directory" | "symlink";
  entry_count: number;
  size_bytes: number;
};

/**
 * Streams a tree out of the sandbox into `target` (atomically: temp file, then rename).
 * With `quota`, the transfer stops once it passes `maxBytes`: it runs on a connection of
 * its own, which is closed there (the agent's export then fails to send and stops; the
 * shared connection, which may carry other calls, is left alone), the temp file is
 * removed and the call fails with `onLimit()`.
 */
export async function downloadArchive(
  context: ManagerContext,
  record: WorkspaceRecord,
  guestPath: string,
  target: string,
  quota?: { maxBytes: number; onLimit: () => Error },
): Promise<ExportResult> {
  const runtime = record.runtime;
  if (!runtime) throw new PyroError("internal", "downloadArchive needs a running sandbox");
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = tempSibling(target);
  const handle = await fs.open(temp, "w", 0o600);
  try {
    // A guest with a transfer disk writes the archive there (transfer-disk.ts).
    const viaDisk = await exportViaDisk(context, record, guestPath, handle, quota);
    if (viaDisk) {
      await handle.sync();
      await handle.close();
      await commitTemp(temp, target);
      return viaDisk;
    }
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw error;
  }
  const own = quota ? (await AgentClient.connect(runtime.socket_path)).client : null;
  let written = 0;
  let overQuota = false;
  const onData = async (chunk: Buffer): Promise<void> => {
    if (overQuota) return;
    written += chunk.length;
    if (own && quota && written > quota.maxBytes) {
      // Not a throw: the client's data chain would hold a rejection nobody handles yet.
      overQuota = true;
      own.close();
      return;
    }
    await handle.write(chunk);
  };
  try {
    const body = { path: guestPath };
    const result = own
      ? await own.call("archive.export", body, { onData })
      : await context.pool.call(runtime, "archive.export", body, { onData });
    if (overQuota && quota) throw quota.onLimit();
    await handle.sync();
    await handle.close();
    await commitTemp(temp, target);
    return result;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    // Closing our connection failed the request; the reason is the quota.
    throw overQuota && quota ? quota.onLimit() : error;
  } finally {
    own?.close();
  }
}

function buildWorkspaceRecord(
  backend: Backend,
  input: CreateWorkspaceInput,
  seed: WorkspaceSeed,
): WorkspaceRecord {
  const fields = newSandboxFields(input, backend);
  return {
    kind: "workspace",
    workspace_id: newId(),
    state: "stopped",
    ...fields,
    workspace_seed: seed,
    command_count: 0,
    last_command: null,
    reset_count: 0,
    workspace_reset: null,
    secrets: [],
    name: input.name === undefined ? null : checkWorkspaceName(input.name),
    labels: input.labels ? checkLabels(input.labels) : {},
    hard_expires_at: hardExpiryFor(fields.created_at, input.max_lifetime_seconds),
    stopped_at: null,
  };
}

/**
 * Boots a sandbox, seeds /workspace and stores the immutable baseline. Until the record is
 * written, the workspace does not exist for anyone else; any failure on the way destroys
 * the sandbox and removes the directory, so nothing is left behind.
 */
export async function createWorkspace(
  context: ManagerContext,
  input: CreateWorkspaceInput,
  options?: ProgressOptions,
): Promise<WorkspaceRecord> {
  const secrets = await checkSecrets(input.secrets);
  const seedSource = input.seed_path
    ? await resolveSource(input.seed_path, "seed_path", { validateNow: true })
    : null;
  const { backend } = await chooseBackend(context, input);
  const record = buildWorkspaceRecord(backend, input, {
    mode: seedSource?.mode ?? "empty",
    seed_path: seedSource?.sourcePath ?? null,
  });
  record.secrets = secrets.metadata;
  // /workspace on its own volume where the backend can (PYRO_WORKSPACE_VOLUMES=0: a
  // directory of the root disk with tar snapshots, as before volumes).
  if (backend.sealVolume && process.env.PYRO_WORKSPACE_VOLUMES !== "0") {
    record.workspace_volume = true;
  }
  // A taken name fails before anything boots (and again, under the names lock, at the end).
  if (record.name) await assertNameFree(context, record.name, null);
  const id = record.workspace_id;
  const dir = context.layout.workspaceDir(id);
  return withWorkspaceLock(context.layout, id, async () => {
    // The directory, under our held lock, counts as an active sandbox from here on.
    await claimActiveSlot(context, () => fs.mkdir(dir, { recursive: true }));
    try {
      // Before the boot: the boot writes them into the sandbox (bootSandbox).
      await storeSecrets(context, id, secrets.values);
      await writeActivity(context.layout, record);
      reportProgress(options, "booting sandbox", 0, 3);
      record.runtime = await bootSandbox(context, record);
      const baseline = context.layout.baselineArchive(id);
      // A seeded baseline is what create sent (the canonical archive the agent extracted),
      // not the tree read back. It is read back only for an empty /workspace (a tiny
      // archive, which records /workspace's own mode) and where the agent's extraction could
      // differ from the archive (node-tar on the host backend applies the umask to modes).
      const fromSent =
        seedSource !== null && (backend.name !== "host" || (await archives()).gnuTar() !== null);
      if (seedSource) {
        reportProgress(options, "seeding /workspace", 1, 3);
        const seeded = await uploadSource(
          context,
          record,
          seedSource,
          "/workspace",
          path.join(dir, "staging"),
          { fresh: true, ...(fromSent ? { keepCopy: baseline } : {}) },
        );
        record.workspace_seed = { ...record.workspace_seed, ...seeded };
      }
      reportProgress(options, "storing baseline", 2, 3);
      if (!fromSent) await downloadArchive(context, record, "/workspace", baseline);
      // Loaded on first use, like node-tar: it brings the diff engine.
      await (await import("./baseline-manifest.js")).storeBaselineManifest(baseline);
      // The baseline as a point of the volume too: what a reset to it boots on.
      if (usesVolume(record)) await sealWorkspacePoint(context, record, "baseline");
      record.state = "started";
      await withUniqueName(context, record, () => saveWorkspace(context.layout, record));
      // Activity counts from when the workspace became usable, not from when its boot began.
      touchActivity(context.layout, id);
      return record;
    } catch (error) {
      await destroyRuntime(context, record).catch(() => undefined);
      await removeTree(dir);
      throw error;
    }
  });
}
