import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { PyroError } from "./errors.js";

/**
 * A built file of this package (e.g. `dist/agent/pyro-agent.mjs`), found from the package
 * root, so it resolves the same from dist/ (installed) and from src/ (tests run the
 * TypeScript sources but start the built helper programs). The root is the nearest
 * package.json with a name: dist/cli/ and dist/cli/chunks/ hold nameless ones that only set
 * their files' module type (scripts/build-cli.mjs).
 */
export function packageFile(relative: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isPackageRoot(dir)) {
      const candidate = path.join(dir, relative);
      if (fs.existsSync(candidate)) return candidate;
      throw new PyroError("backend_error", `${candidate} not found; run \`npm run build\``);
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new PyroError(
        "backend_error",
        `cannot locate the pyro package root to find ${relative}`,
      );
    }
    dir = parent;
  }
}

/** A directory with a package.json that names a package (no file or bad JSON: not one). */
function isPackageRoot(dir: string): boolean {
  try {
    const text = fs.readFileSync(path.join(dir, "package.json"), "utf8");
    return typeof (JSON.parse(text) as { name?: unknown }).name === "string";
  } catch {
    return false;
  }
}
