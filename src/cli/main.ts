#!/usr/bin/env node
/**
 * The `pyro` binary, built as CommonJS (scripts/build-cli.mjs; dist/cli/package.json says
 * so). It turns on Node's on-disk compile cache (Node 22.1 and later; older Nodes have none
 * and skip this), then loads the command line: a read-only call (src/cli/read-only.ts)
 * requires the CommonJS read path, chunks/read.cjs, which never starts the ES module loader;
 * any other call imports the ES module bundle. See docs/cli.md, "Start-up time".
 */
import module from "node:module";

import { isReadOnlyCall } from "./read-only.js";

const withCache = module as { enableCompileCache?: () => unknown };
withCache.enableCompileCache?.();
if (isReadOnlyCall(process.argv.slice(2))) {
  // The bundle is CommonJS: this require is Node's own, and scripts/build-cli.mjs points it
  // at chunks/read.cjs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("./read.js");
} else {
  void import("./run.js");
}
