import {
  decodeManifest,
  diffManifests,
  readTarFiles,
  treeFromTar,
  type Manifest,
} from "../diff/index.js";
import { PyroError } from "../errors.js";
import type { RuntimeRecord } from "../store/records.js";
import { applyManifestDelta } from "../diff/manifest-delta.js";
import type { AgentRequest, AgentResponse } from "../protocol/operations.js";
import { baselineManifest } from "./baseline-manifest.js";
import type { ManagerContext } from "./context.js";
import { bodiesThroughCache } from "./diff-bodies.js";
import { readManifestCache, writeManifestCache } from "./manifest-cache.js";
import { loadWorkspace } from "./records-io.js";
import { requireBaseline, requireStarted } from "./workspace-ops.js";

async function streamText<Op extends "tree.manifest" | "files.read">(
  context: ManagerContext,
  runtime: RuntimeRecord,
  op: Op,
  body: AgentRequest<Op>,
): Promise<{ data: Buffer; reply: AgentResponse<Op> }> {
  const chunks: Buffer[] = [];
  const reply = await context.pool.call(runtime, op, body, {
    onData: (chunk) => void chunks.push(chunk),
  });
  return { data: Buffer.concat(chunks), reply };
}

/**
 * The sandbox's manifest of /workspace: a delta against the one the last diff of this boot
 * received when the agent still holds it (manifest-cache.ts), else the whole manifest.
 */
async function sandboxManifest(
  context: ManagerContext,
  id: string,
  runtime: RuntimeRecord,
): Promise<Manifest> {
  const guestPath = "/workspace";
  const cacheFile = context.layout.manifestCache(id);
  const cached = await readManifestCache(cacheFile, runtime, guestPath);
  const { data, reply } = await streamText(context, runtime, "tree.manifest", {
    path: guestPath,
    ...(cached ? { since: cached.generation } : {}),
  });
  let manifest: Manifest;
  try {
    const text = data.toString("utf8");
    if (reply.delta !== true) manifest = decodeManifest(text);
    else if (cached) manifest = applyManifestDelta(cached.manifest, text);
    else throw new Error("a delta answered a request for all");
  } catch (error) {
    throw new PyroError(
      "protocol_error",
      `the sandbox sent an unreadable manifest: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
  await writeManifestCache(cacheFile, runtime, guestPath, reply.generation, manifest);
  return manifest;
}

/** The digest the manifest gives each of `paths` (all regular files). */
function digestsOf(manifest: Manifest, paths: string[]): Map<string, string> {
  const digests = new Map<string, string>();
  for (const file of paths) {
    const entry = manifest.get(file);
    if (entry?.type === "file") digests.set(file, entry.sha256);
  }
  return digests;
}

async function sandboxFiles(
  context: ManagerContext,
  runtime: RuntimeRecord,
  paths: string[],
): Promise<Map<string, Buffer>> {
  const bodies = new Map<string, Buffer>();
  if (paths.length === 0) return bodies;
  const { data: archive } = await streamText(context, runtime, "files.read", { paths });
  if (archive.length === 0) return bodies;
  for (const [entryPath, entry] of await treeFromTar(archive)) {
    if (entry.type === "file") bodies.set(entryPath, entry.content);
  }
  return bodies;
}

/**
 * workspace_diff. The sandbox sends a manifest (paths and digests), the baseline's
 * manifest comes from disk, and only the bodies of changed text files are fetched: the
 * cost follows the size of the change, not the size of the tree.
 */
export async function diffWorkspace(context: ManagerContext, id: string) {
  const baseline = await requireBaseline(
    context,
    await loadWorkspace(context.layout, id),
    "workspace_diff",
  );
  const record = await requireStarted(context, id, "workspace_diff");
  const runtime = record.runtime;
  if (!runtime) throw new PyroError("internal", "a started workspace has no runtime");
  const [before, after] = await Promise.all([
    baselineManifest(baseline),
    sandboxManifest(context, id, runtime),
  ]);
  const diff = await diffManifests(before, after, {
    before: (paths) => readTarFiles(baseline, new Set(paths)),
    // Bodies a previous diff fetched (same digest) are not asked for again (diff-bodies.ts).
    after: (paths) =>
      bodiesThroughCache(context.layout.diffBodies(id), digestsOf(after, paths), (missing) =>
        sandboxFiles(context, runtime, missing),
      ),
  });
  return { workspace_id: record.workspace_id, ...diff };
}
