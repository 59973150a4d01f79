import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { resolveAgentBundle } from "../shared/agent-bundle.js";

/**
 * The files of the guest agent as built by this package: the bundle and the archive worker
 * it starts beside itself. Images carry exactly these, and the manifest records their
 * combined digest so an image built from another agent build is noticed.
 */
export function agentFiles(): { bundle: string; files: string[]; sha256: string } {
  const bundle = resolveAgentBundle();
  const files = [bundle, path.join(path.dirname(bundle), "pack-worker.mjs")];
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(path.basename(file));
    hash.update("\0");
    hash.update(fs.readFileSync(file));
  }
  return { bundle, files, sha256: hash.digest("hex") };
}
