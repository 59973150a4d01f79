import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { resolveAgentBundle } from "../shared/agent-bundle.js";

/**
 * The files of the guest agent as built by this package: the bundle and the archive worker
 * it starts beside itself. Images carry exactly these, and the manifest records their
 * combined digest so an image built from another agent build is noticed. `version` is the
 * one the build derived (scripts/build-agent.mjs), as the agent reports it in its hello.
 */
export function agentFiles(): { bundle: string; files: string[]; sha256: string; version: string } {
  const bundle = resolveAgentBundle();
  const directory = path.dirname(bundle);
  const files = [bundle, path.join(directory, "pack-worker.mjs")];
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(path.basename(file));
    hash.update("\0");
    hash.update(fs.readFileSync(file));
  }
  return { bundle, files, sha256: hash.digest("hex"), version: builtVersion(directory) };
}

function builtVersion(directory: string): string {
  const file = path.join(directory, "agent-version.json");
  const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  const version = (parsed as { version?: unknown }).version;
  if (typeof version !== "string") throw new Error(`${file} has no version`);
  return version;
}
