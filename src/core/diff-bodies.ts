/**
 * The bodies of the sandbox's changed files that the last diff fetched, kept on the host by
 * digest (`<workspace>/diff-bodies/<sha256>`), so that the next diff fetches only contents it
 * has not seen. An agent diffs again and again while the same files stay changed: each of
 * those diffs used to ask the guest for the same bodies (`files.read`: a GNU tar started
 * under TCG and its output across the port, 0.15-0.2 s for the bench's 100 files).
 *
 * Only a cache, and content-addressed: a body is used only when its digest is the one the
 * current manifest gives its path, checked on every read, so a torn, stale or foreign file
 * only costs a fetch; a reset or fork needs no invalidation. A fetched body is kept only when
 * it matches the manifest's digest (a file changed between the manifest and the fetch is
 * not). After each diff the directory holds exactly the bodies that diff used, at most
 * BODIES_MAX_BYTES, so it never grows past one diff's size.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

/** What one diff may leave in the directory. */
const BODIES_MAX_BYTES = 32 * 1024 * 1024;
const DIGEST = /^[0-9a-f]{64}$/;

function sha256(body: Buffer): string {
  return createHash("sha256").update(body).digest("hex");
}

/** The cached body of `digest`, or null (absent, unreadable, or not that content). */
async function readBody(dir: string, digest: string): Promise<Buffer | null> {
  try {
    const body = await fs.readFile(path.join(dir, digest));
    return sha256(body) === digest ? body : null;
  } catch {
    return null;
  }
}

/** Keeps `body` under its digest; without fsync, as a torn file is caught by the next read. */
async function storeBody(dir: string, digest: string, body: Buffer): Promise<void> {
  const temp = path.join(dir, `.${digest}.${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    await fs.writeFile(temp, body, { mode: 0o600, flag: "wx" });
    await fs.rename(temp, path.join(dir, digest));
  } catch {
    await fs.rm(temp, { force: true }); // only a cache: the next diff fetches it again
  }
}

/**
 * The bodies of `wanted` (path -> the digest the manifest gives it): from the cache where it
 * holds that content, the rest from `fetch`. Leaves the cache holding exactly what this diff
 * used (another diff running at once may lose a body it was about to store or read: it
 * fetches it again next time).
 */
export async function bodiesThroughCache(
  dir: string,
  wanted: Map<string, string>,
  fetch: (paths: string[]) => Promise<Map<string, Buffer>>,
): Promise<Map<string, Buffer>> {
  const bodies = new Map<string, Buffer>();
  if (wanted.size === 0) return bodies;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const cached = await Promise.all(
    [...wanted].map(async ([file, digest]) => {
      const body = DIGEST.test(digest) ? await readBody(dir, digest) : null;
      return [file, body] as const;
    }),
  );
  const missing: string[] = [];
  for (const [file, body] of cached) {
    if (body) bodies.set(file, body);
    else missing.push(file);
  }
  const fetched = missing.length > 0 ? await fetch(missing) : new Map<string, Buffer>();
  for (const [file, body] of fetched) bodies.set(file, body);
  const kept = keptDigests(wanted, bodies);
  await Promise.all(
    [...fetched].map(async ([file, body]) => {
      const digest = wanted.get(file);
      if (digest && kept.has(digest) && sha256(body) === digest) {
        await storeBody(dir, digest, body);
      }
    }),
  );
  await removeAllBut(dir, kept);
  return bodies;
}

/** The digests this diff used that the directory keeps: up to BODIES_MAX_BYTES of them. */
function keptDigests(wanted: Map<string, string>, bodies: Map<string, Buffer>): Set<string> {
  const kept = new Set<string>();
  let bytes = 0;
  for (const [file, digest] of wanted) {
    const body = bodies.get(file);
    if (!body || !DIGEST.test(digest) || kept.has(digest)) continue;
    if (bytes + body.length > BODIES_MAX_BYTES) continue;
    kept.add(digest);
    bytes += body.length;
  }
  return kept;
}

/** Removes every file of `dir` not named by `kept` (older bodies, a killed writer's temp). */
async function removeAllBut(dir: string, kept: Set<string>): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((name) => !kept.has(name))
      .map((name) => fs.rm(path.join(dir, name), { force: true, recursive: true })),
  );
}
