import { closeSync, copyFileSync, createWriteStream, mkdirSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";

import {
  createArchive,
  exportPath,
  extractArchive,
  extractPrevalidatedArchive,
  gnuTar,
  packWithGnuTar,
} from "../archive/index.js";
import { manifestFromDirectory, type DigestCache, type Manifest } from "../diff/index.js";
import { isVanished } from "../diff/fs-walk.js";
import { SentManifests } from "../diff/manifest-delta.js";
import { manifestNative } from "../diff/native-manifest.js";
import { PyroError, ValidationError } from "../errors.js";
import {
  UnsafePathError,
  fdPath,
  lstatAt,
  openDirectoryBelow,
  openFileAt,
  sharedFdPath,
  withFd,
} from "../no-follow.js";
import type { AgentReply } from "../protocol/operations.js";
import type { AgentContext } from "./context.js";
import { readFilesWithTar } from "./files-read.js";
import { registerCommandHandlers } from "./commands.js";
import { startCommand } from "./exec.js";
import { streamProduced, withScratch } from "./transfer.js";

/** Upper bound for one uploaded archive; a guest disk is not infinite either. */
const MAX_UPLOAD_BYTES = 8 * 1024 * 1024 * 1024;

/**
 * Registers the agent's core operations, one group of handlers per step: running a
 * command, moving whole archives in and out, and reading a tree (manifest, chosen files).
 * Returns what another import path (the transfer disk) calls once it restored a fresh
 * /workspace, so the digest cache is primed whichever way the tree arrived.
 */
export function registerCoreHandlers(context: AgentContext): { workspaceRestored: () => void } {
  const digests = new WorkspaceDigests(context);
  registerExecHandler(context);
  registerCommandHandlers(context);
  registerArchiveHandlers(context, digests);
  registerTreeHandlers(context, digests);
  return { workspaceRestored: () => digests.primeLater() };
}

/** How long after a restore the digests of /workspace are taken: past the racy window. */
const PRIME_DELAY_MS = 2_500;

/**
 * Digests of /workspace files from earlier manifests, valid while stamps match (see
 * DigestCache). In a real guest the manifest comes from native tools (find, sha256sum: see
 * native-manifest.ts for why only there; PYRO_AGENT_MANIFEST=native forces them, for tests),
 * and after a fresh /workspace is restored (create, reset) they are primed in the
 * background at the lowest CPU priority, so the first diff only lists the tree.
 */
class WorkspaceDigests {
  readonly cache: DigestCache = new Map();
  readonly native: boolean;

  constructor(private readonly context: AgentContext) {
    this.native = context.trustsHostValidation || process.env.PYRO_AGENT_MANIFEST === "native";
  }

  /** The prime in progress, if any. */
  private priming: Promise<void> | null = null;

  async manifest(fd: number, guestPath: string): Promise<Manifest> {
    const cache = guestPath === "/workspace" ? this.cache : undefined;
    // A diff during a prime waits for it (bounded) rather than hashing the same files twice.
    if (cache && this.priming) {
      await Promise.race([
        this.priming,
        new Promise((resolve) => setTimeout(resolve, 120_000).unref()),
      ]);
    }
    return this.native
      ? manifestNative(fd, cache, { tempDir: this.context.stateDir })
      : manifestFromDirectory(fd, cache);
  }

  /** The prime waiting for its delay, if any. */
  private pendingPrime: NodeJS.Timeout | null = null;

  /**
   * Primes the cache once the files just restored are past the racy window. A create
   * restores twice (the volume's mount, then the seed's import): the later call replaces a
   * prime still waiting, and a prime starts only after the one running ends, so the second
   * finds the first's digests instead of hashing all 10,000 files again beside it.
   */
  primeLater(): void {
    if (!this.native) return;
    if (this.pendingPrime) clearTimeout(this.pendingPrime);
    this.pendingPrime = setTimeout(() => {
      this.pendingPrime = null;
      const { paths } = this.context;
      const prime = (this.priming ?? Promise.resolve())
        .then(() =>
          withFd(paths.openDirectory(paths.resolve("/workspace", "path"), "path"), (fd) =>
            manifestNative(fd, this.cache, {
              tempDir: this.context.stateDir,
              background: true,
            }),
          ),
        )
        .then(() => undefined)
        .catch(() => undefined) // only a cache: the next diff hashes what is missing
        .finally(() => {
          if (this.priming === prime) this.priming = null;
        });
      this.priming = prime;
    }, PRIME_DELAY_MS);
    this.pendingPrime.unref();
  }
}

/** `exec`: one command in a checked working directory, with env, timeout and output cap. */
function registerExecHandler(context: AgentContext): void {
  const { handlers, paths } = context;
  handlers.set("exec", async ({ body, signal }) => {
    const { command } = body;
    if (command.trim() === "") {
      throw new ValidationError("command must not be empty");
    }
    const cwd = paths.resolve(body.cwd ?? "/workspace", "cwd");
    const stat = await fs.stat(cwd.local).catch(() => null);
    if (!stat?.isDirectory()) {
      throw new ValidationError(`cwd does not exist or is not a directory: '${cwd.guest}'`, {
        field: "cwd",
      });
    }
    const running = startCommand({
      command,
      cwd: cwd.local,
      env: body.env,
      timeoutSeconds: body.timeout_seconds ?? 30,
      maxOutputBytes: body.max_output_bytes,
    });
    // The caller went away (abort, closed connection): nothing it ran keeps running.
    const cancel = (): void => running.cancel();
    if (signal.aborted) cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      const { cancelled: _cancelled, ...result } = await running.done;
      return { ...result, cwd: cwd.guest };
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  });
}

/** `archive.import` and `archive.export`: a whole tree as one tar, in or out. */
function registerArchiveHandlers(context: AgentContext, digests: WorkspaceDigests): void {
  const { handlers, paths } = context;
  handlers.set("archive.import", async ({ body, upload }) => {
    if (!upload) throw new ValidationError("archive.import needs an uploaded archive");
    const destination = paths.resolve(body.destination ?? "/workspace", "destination");
    return withScratch(context.scratchDir, "import.tar", async (scratch) => {
      await pipeline(upload, byteLimit(MAX_UPLOAD_BYTES), createWriteStream(scratch));
      // The destination is opened (and made) without following links: one that is, or
      // lies below, a symlink would have extraction write wherever that link points.
      // Extraction then works in the opened directory itself, by descriptor, so swapping
      // a component for a symlink afterwards cannot redirect it either.
      // Only a restore (reset) gives the destination the archived root's mode and mtime; a
      // push or a seed leaves the destination's own metadata alone.
      const restoreRoot = body.restore_root === true;
      const dest = paths.openDirectory(destination, "dest", { create: true });
      return withFd(dest, async (fd): Promise<AgentReply<"archive.import">> => {
        const local = sharedFdPath(fd);
        if (body.host_validated === true && context.trustsHostValidation) {
          await assertEmptyDirectory(local, destination.guest);
          await extractPrevalidatedArchive(scratch, local, { restoreRoot });
          if (destination.guest === "/workspace") digests.primeLater();
          return { destination: destination.guest, validated_by: "host" };
        }
        const summary = await extractArchive(scratch, local, { restoreRoot });
        return {
          destination: destination.guest,
          validated_by: "agent",
          entry_count: summary.entryCount,
          bytes_written: summary.totalBytes,
        };
      });
    });
  });

  handlers.set("archive.export", async ({ body, sendData }) => {
    const target = paths.resolve(body.path ?? "/workspace", "path");
    const { result: exported, size } = await streamProduced(
      context.scratchDir,
      "export.tar",
      sendData,
      (fifo) => exportPath({ root: paths.root, relativePath: target.relative || ".", file: fifo }),
    );
    return {
      path: target.guest,
      artifact_type: exported.artifact_type,
      entry_count: exported.entry_count,
      size_bytes: size,
    };
  });
}

/** `tree.manifest` and `files.read`: the two halves of workspace_diff. */
function registerTreeHandlers(context: AgentContext, digests: WorkspaceDigests): void {
  const { handlers, paths } = context;
  const sent = new SentManifests();

  // The comparable entries of a tree with digests, as NDJSON data frames: the cheap
  // half of workspace_diff (only changed files travel afterwards, via files.read).
  // With `since` naming the last manifest this agent sent (and still holds), only the lines
  // that changed travel (manifest-delta.ts).
  handlers.set("tree.manifest", async ({ body, sendData }) => {
    const target = paths.resolve(body.path ?? "/workspace", "path");
    const manifest = await withFd(paths.openDirectory(target, "path"), (fd) =>
      digests.manifest(fd, target.guest),
    );
    const { lines, delta, generation } = sent.next(target.guest, manifest, body.since);
    let batch = "";
    for (const line of lines) {
      batch += line;
      if (batch.length >= 128 * 1024) {
        await sendData(Buffer.from(batch, "utf8"));
        batch = "";
      }
    }
    if (batch !== "") await sendData(Buffer.from(batch, "utf8"));
    return { path: target.guest, entry_count: manifest.size, generation, delta };
  });

  // A tar of the named regular files under /workspace (missing or non-file paths are
  // left out and listed), for diff patches without exporting the whole tree. Each file is
  // opened without following any symlink on its path and copied, by descriptor, into a
  // private scratch tree that is then archived: what is archived is what was opened.
  handlers.set("files.read", async ({ body, sendData }) => {
    const targets = body.paths.map((raw) => paths.resolve(raw, "paths"));
    const tar = gnuTar();
    // Only in a real guest (never for PYRO_AGENT_MANIFEST=native on the host backend, where
    // a name through a symlinked directory could reach the host's files: files-read.ts).
    if (context.trustsHostValidation && tar) {
      return withFd(paths.openRoot(), (rootFd) => readFilesWithTar(tar, rootFd, targets, sendData));
    }
    return withScratch(context.scratchDir, "files", async (scratch) => {
      const copies = `${scratch}.d`;
      const present: string[] = [];
      const missing: string[] = [];
      const rootFd = paths.openRoot();
      try {
        for (const target of targets) {
          if (target.relative !== "" && copyFileBelow(rootFd, target.relative, copies)) {
            present.push(target.relative);
          } else {
            missing.push(target.guest);
          }
        }
      } finally {
        closeSync(rootFd);
      }
      if (present.length === 0) return { count: 0, missing };
      // GNU tar where there is one: node-tar's per-member JavaScript is slow under TCG.
      await streamProduced(context.scratchDir, "files.tar", sendData, (fifo) =>
        tar
          ? packWithGnuTar(tar, copies, fifo, "relative").then(() => undefined)
          : createArchive({ cwd: copies, entries: present, file: fifo }),
      );
      return { count: present.length, missing };
    });
  });
}

/**
 * Copies the regular file at `relative` below `rootFd` to the same relative path under
 * `into`, without following a symlink anywhere on its path; false when there is no such
 * regular file (missing, a symlink, a directory, below a symlink, swapped meanwhile).
 */
function copyFileBelow(rootFd: number, relative: string, into: string): boolean {
  const slash = relative.lastIndexOf("/");
  const name = relative.slice(slash + 1);
  let parentFd: number;
  try {
    parentFd = openDirectoryBelow(rootFd, slash < 0 ? "" : relative.slice(0, slash));
  } catch (error) {
    if (error instanceof UnsafePathError) return false;
    throw error;
  }
  try {
    let stats;
    try {
      stats = lstatAt(parentFd, name);
    } catch (error) {
      if (isVanished(error)) return false;
      throw error;
    }
    if (!stats.isFile()) return false;
    const fd = openFileAt(parentFd, name, stats);
    if (fd === null) return false;
    try {
      const target = path.join(into, ...relative.split("/"));
      mkdirSync(path.dirname(target), { recursive: true });
      // /proc/self/fd/N opens the very file we checked, whatever its name points to now.
      copyFileSync(fdPath(fd), target);
    } finally {
      closeSync(fd);
    }
    return true;
  } finally {
    closeSync(parentFd);
  }
}

/**
 * Host validation says nothing about what is already on disk (a symlink in /workspace
 * could redirect a member), so it is only trusted for a destination with nothing in it.
 */
async function assertEmptyDirectory(local: string, guest: string): Promise<void> {
  const entries = await fs.readdir(local);
  if (entries.length > 0) {
    throw new ValidationError(
      `host_validated archives are only restored into an empty directory; '${guest}' has ${entries.length} entries`,
      { destination: guest },
    );
  }
}

function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) {
        callback(
          new PyroError("limit_exceeded", `uploaded archive exceeds the ${limit}-byte limit`, {
            limit: "upload_bytes",
            max: limit,
          }),
        );
        return;
      }
      callback(null, chunk);
    },
  });
}
