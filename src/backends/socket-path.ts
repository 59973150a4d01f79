import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";

/**
 * sun_path is 108 bytes on Linux, NUL included, and listeners bind `<socket>.<pid>.tmp`
 * first (up to 12 bytes more), so keep well below.
 */
const MAX_SOCKET_PATH = 90;

/**
 * `<runtimeDir>/<name>.sock`, or, when that overflows sun_path (deep CI temp dirs, long
 * home paths), a short deterministic name in a private directory under the temp dir.
 */
export function socketPathFor(runtimeDir: string, sandboxDir: string, name: string): string {
  const preferred = path.join(runtimeDir, `${name}.sock`);
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const digest = createHash("sha256").update(sandboxDir).digest("hex").slice(0, 16);
  return path.join(
    os.tmpdir(),
    `pyro-sockets-${process.getuid?.() ?? "user"}`,
    name === "agent" ? `${digest}.sock` : `${digest}-${name}.sock`,
  );
}
