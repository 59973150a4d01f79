import {
  decodeManifest,
  diffManifests,
  readTarFiles,
  treeFromTar,
  type Manifest,
} from "../diff/index.js";
import { PyroError } from "../errors.js";
import type { RuntimeRecord } from "../store/records.js";
import type { AgentRequest } from "../protocol/operations.js";
import { baselineManifest } from "./baseline-manifest.js";
import type { ManagerContext } from "./context.js";
import { loadWorkspace } from "./records-io.js";
import { requireBaseline, requireStarted } from "./workspace-ops.js";

async function streamText<Op extends "tree.manifest" | "files.read">(
  context: ManagerContext,
  runtime: RuntimeRecord,
  op: Op,
  body: AgentRequest<Op>,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await context.pool.call(runtime, op, body, { onData: (chunk) => void chunks.push(chunk) });
  return Buffer.concat(chunks);
}

async function sandboxManifest(context: ManagerContext, runtime: RuntimeRecord): Promise<Manifest> {
  const raw = await streamText(context, runtime, "tree.manifest", { path: "/workspace" });
  try {
    return decodeManifest(raw.toString("utf8"));
  } catch (error) {
    throw new PyroError(
      "protocol_error",
      `the sandbox sent an unreadable manifest: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
}

async function sandboxFiles(
  context: ManagerContext,
  runtime: RuntimeRecord,
  paths: string[],
): Promise<Map<string, Buffer>> {
  const bodies = new Map<string, Buffer>();
  if (paths.length === 0) return bodies;
  const archive = await streamText(context, runtime, "files.read", { paths });
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
    sandboxManifest(context, runtime),
  ]);
  const diff = await diffManifests(before, after, {
    before: (paths) => readTarFiles(baseline, new Set(paths)),
    after: (paths) => sandboxFiles(context, runtime, paths),
  });
  return { workspace_id: record.workspace_id, ...diff };
}
