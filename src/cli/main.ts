#!/usr/bin/env node
/**
 * The `pyro` binary. It only turns on Node's on-disk compile cache (Node 22.1 and later;
 * older Nodes have none and skip this), then loads the command line, so every module of
 * a call, the bundle's chunks included (scripts/build-cli.mjs), is compiled once per
 * version and read back from the cache afterwards. See docs/cli.md, "Start-up time".
 */
import module from "node:module";

const withCache = module as { enableCompileCache?: () => unknown };
withCache.enableCompileCache?.();
await import("./run.js");
