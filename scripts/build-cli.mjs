// Bundles the `pyro` command line so a call loads about a dozen files instead of about 200
// (pyro's modules, commander and zod): module loading was most of the CLI's start-up time.
// The VM supervisor is bundled too (at the end).
// dist/cli/main.js (over the file tsc wrote) stays the small entry of src/cli/main.ts;
// everything it imports lazily becomes a chunk (dist/cli/chunks/), loaded only by the
// commands that use it. The SDK, the MCP embedding and the supervisor stay unbundled
// (dist/**), so they are unchanged for library users.
//
// Left external: the runtime dependencies only some commands load (the MCP SDK, node-tar,
// jsdiff), resolved from node_modules as before. The MCP SDK then loads its own zod beside
// the bundle's; zod keeps its registry on globalThis and checks instances by traits, so
// schemas cross between the two (test/mcp.test.ts runs `pyro mcp serve` from this bundle).
import { build } from "esbuild";
import { copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

/** zod's translations of its messages: pyro reports in English only, so none are loaded. */
const noZodLocales = {
  name: "no-zod-locales",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes("/node_modules/zod/")
        ? { path: "zod-locales", namespace: "pyro-empty" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "pyro-empty" }, () => ({
      contents: "export {};",
      loader: "js",
    }));
  },
};

/**
 * zod, loaded on first use: a read-only call checks its input, the records it reads and the
 * agent's answers by generated JSON schemas (src/shared/fast-check.ts) and never builds a
 * schema, and compiling zod's 400 KB was most of a read's start-up (docs/cli.md, "Start-up
 * time"). zod is bundled on its own as chunks/zod.cjs (below) and required, synchronously
 * as building a schema is, by the first code that touches it: `import { z } from "zod"`
 * gets a `z` whose every property access loads it; `import * as z from "zod/mini"` (the
 * agent protocol's, a namespace import so the agent bundle keeps only what it uses) gets
 * one small function per zod/mini function that loads it when called.
 */
const zodMini = await import("zod/mini");
/** `zodFile`: where chunks/zod.cjs is, relative to the output file the loader lands in. */
const lazyZod = (zodFile) => ({
  name: "lazy-zod",
  setup(build) {
    build.onResolve({ filter: /^zod(\/mini)?$/ }, (args) => ({
      path: args.path,
      namespace: "pyro-lazy-zod",
    }));
    build.onLoad({ filter: /^zod$/, namespace: "pyro-lazy-zod" }, () => ({
      contents: `import { loadZod } from "pyro-zod-loader";
export const z = new Proxy({}, {
  get: (_, key) => loadZod().z[key],
  has: (_, key) => key in loadZod().z,
});`,
      loader: "js",
    }));
    build.onLoad({ filter: /^zod\/mini$/, namespace: "pyro-lazy-zod" }, () => ({
      // Only functions: a class or a constant used from zod/mini fails the build here
      // (no such export) rather than at run time.
      contents: `import { loadZod } from "pyro-zod-loader";\n${Object.keys(zodMini)
        .filter((name) => name !== "z" && typeof zodMini[name] === "function")
        .map(
          (name) =>
            // `export { … as catch }`: some names are reserved words.
            `const zod_${name} = (...args) => loadZod().mini.${name}(...args);\nexport { zod_${name} as ${name} };`,
        )
        .join("\n")}`,
      loader: "js",
    }));
    build.onResolve({ filter: /^pyro-zod-loader$/ }, () => ({
      path: "loader",
      namespace: "pyro-zod-loader",
    }));
    build.onLoad({ filter: /.*/, namespace: "pyro-zod-loader" }, () => ({
      contents: `let zod;
/** chunks/zod.cjs, required once. */
export function loadZod() {
  return (zod ??= require(new URL(${JSON.stringify(zodFile)}, import.meta.url).pathname));
}`,
      loader: "js",
    }));
  },
});
/** Gives ESM output a require(): bundled CommonJS (commander) and the zod loader call it. */
const requireBanner =
  "import { createRequire as __pyroCreateRequire } from 'node:module'; const require = __pyroCreateRequire(import.meta.url);";

/**
 * src/version.ts reads ../package.json beside itself, which from dist/cli/ is the wrong
 * place: the bundle carries the version instead.
 */
const bakedVersion = {
  name: "baked-version",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({
      contents: `export const PACKAGE_VERSION = ${JSON.stringify(version)};`,
      loader: "ts",
    }));
  },
};

// Chunk names carry a content hash: drop the previous build's. tsc's unbundled copies of
// the CLI's modules are dead weight beside the bundle: only main.js stays.
const cliDir = `${root}dist/cli`;
const EXTERNAL = ["@modelcontextprotocol/sdk", "tar", "diff", "@bomb.sh/tab"];
/** What every bundle below is: one Node 20 program, quiet unless something is wrong. */
const NODE_BUNDLE = {
  bundle: true,
  platform: "node",
  target: "node20",
  legalComments: "none",
  logLevel: "warning",
};
for (const name of readdirSync(cliDir)) {
  if (!name.startsWith("main.")) rmSync(`${cliDir}/${name}`, { recursive: true, force: true });
}

// The ES module bundle: every call but the read-only ones. Its entry is chunks/run.js,
// which main.js imports; chunks/package.json says its files are ES modules (dist/cli's
// says CommonJS, for main.js).
const cli = await build({
  entryPoints: { "chunks/run": `${root}src/cli/run.ts` },
  outdir: cliDir,
  chunkNames: "chunks/[name]-[hash]",
  ...NODE_BUNDLE,
  splitting: true,
  format: "esm",
  external: EXTERNAL,
  // The loader lands in a chunk of chunks/, beside zod.cjs (checked below).
  plugins: [lazyZod("./zod.cjs"), bakedVersion],
  metafile: true,
  banner: { js: requireBanner },
  // Read only with --enable-source-maps: stack traces then name src/ files again.
  sourcemap: "linked",
});
writeFileSync(`${cliDir}/package.json`, `${JSON.stringify({ type: "commonjs" })}\n`);
writeFileSync(`${cliDir}/chunks/package.json`, `${JSON.stringify({ type: "module" })}\n`);

/**
 * Node built-ins loaded on first use, in the read path: loading child_process (with net,
 * dgram and streams), zlib, readline or worker_threads costs 1-9 ms each, and a read-only
 * call imports them (commander, the backends, the archive code) without using most. Each
 * becomes a module whose properties load the real one when first read; the key list (for
 * esbuild's ES module interop, which copies it) is the build's Node's, and a key missing
 * from it still reads through `default`.
 */
const LAZY_BUILTINS = [
  "child_process",
  "crypto",
  "dgram",
  "net",
  "readline",
  "worker_threads",
  "zlib",
];
const lazyBuiltins = {
  name: "lazy-builtins",
  setup(build) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join("|")})$`);
    build.onResolve({ filter }, (args) =>
      args.namespace === "pyro-lazy-builtin"
        ? { path: args.path, external: true }
        : { path: args.path.replace(/^node:/, ""), namespace: "pyro-lazy-builtin" },
    );
    build.onLoad({ filter: /.*/, namespace: "pyro-lazy-builtin" }, async (args) => {
      const keys = Object.keys(await import(`node:${args.path}`)).filter(
        (key) => key !== "default",
      );
      return {
        contents: `let real;
const load = () => (real ??= require("node:${args.path}"));
const keys = ${JSON.stringify(keys)};
module.exports = new Proxy({}, {
  get: (_, key) => (key === "__esModule" ? undefined : load()[key]),
  has: (_, key) => key in load(),
  ownKeys: () => keys,
  getOwnPropertyDescriptor: (_, key) =>
    keys.includes(key) ? { configurable: true, enumerable: true, writable: true, value: undefined } : undefined,
});`,
        loader: "js",
      };
    });
  },
};

/**
 * The built-ins most modules import (path from about 50 modules, the fs APIs from about 50):
 * as CommonJS, esbuild's interop copies every property of the module into a new object for
 * each importing module (about 10 ms of a read-only call). Here each is one module that
 * reads its properties once, which importers link to directly. The names are the build's
 * Node's: a name the code imports and the build's Node lacks fails the build.
 */
const SHARED_BUILTINS = ["fs", "fs/promises", "os", "path"];
const sharedBuiltins = {
  name: "shared-builtins",
  setup(build) {
    const filter = new RegExp(`^(node:)?(${SHARED_BUILTINS.join("|")})$`);
    build.onResolve({ filter }, (args) =>
      args.kind !== "import-statement" || args.namespace === "pyro-shared-builtin"
        ? { path: args.path, external: true }
        : { path: args.path.replace(/^node:/, ""), namespace: "pyro-shared-builtin" },
    );
    build.onLoad({ filter: /.*/, namespace: "pyro-shared-builtin" }, async (args) => {
      const names = Object.keys(await import(`node:${args.path}`)).filter(
        (key) => key !== "default" && /^[A-Za-z_$][\w$]*$/.test(key),
      );
      return {
        contents: `const real = require("node:${args.path}");
export default real;
${names.map((name) => `export const ${name} = real.${name};`).join("\n")}`,
        loader: "js",
      };
    });
  },
};

/**
 * The CommonJS read path (docs/cli.md, "Start-up time"): what `pyro workspace
 * status|logs|list` and `pyro env list` load (src/cli/read-only.ts), one file required by
 * main.js, so such a call never starts Node's ES module loader (about 20 ms, plus about
 * 0.6 ms per file) and compiles one file. It holds the same modules as the ES module
 * bundle, so it shares no state with it: a call loads one or the other, never both.
 * `import.meta.url` is the file's own URL, so what modules find beside themselves (zod.cjs,
 * pack-worker.mjs, the package root) they find as from the ES module chunks beside it.
 */
await build({
  entryPoints: [`${root}src/cli/read.ts`],
  outfile: `${cliDir}/chunks/read.cjs`,
  ...NODE_BUNDLE,
  format: "cjs",
  external: EXTERNAL,
  // read.cjs is in chunks/, beside zod.cjs.
  plugins: [lazyZod("./zod.cjs"), bakedVersion, lazyBuiltins, sharedBuiltins],
  define: { "import.meta.url": "__pyroImportMetaUrl" },
  banner: { js: 'var __pyroImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: "linked",
});

/** main.js's two loads, pointed at the two bundles (see src/cli/main.ts). */
const bundlePaths = {
  name: "bundle-paths",
  setup(build) {
    build.onResolve({ filter: /^\.\/(run|read)\.js$/ }, (args) => ({
      path: args.path === "./run.js" ? "./chunks/run.js" : "./chunks/read.cjs",
      external: true,
    }));
  },
};
// The entry, over the file tsc wrote: CommonJS, so a read-only call starts no ES module.
await build({
  entryPoints: [`${root}src/cli/main.ts`],
  outfile: `${cliDir}/main.js`,
  allowOverwrite: true,
  ...NODE_BUNDLE,
  format: "cjs",
  plugins: [bundlePaths],
});
// tsc's map of the main.js it wrote, which is no more.
rmSync(`${cliDir}/main.js.map`, { force: true });

// zod on its own, both its APIs (the catalogue's and the records' "zod", the agent
// protocol's "zod/mini") in one file sharing one core.
await build({
  stdin: {
    contents: `export { z } from "zod"; export { z as mini } from "zod/mini";`,
    resolveDir: root,
    loader: "js",
  },
  outfile: `${cliDir}/chunks/zod.cjs`,
  ...NODE_BUNDLE,
  format: "cjs",
  plugins: [noZodLocales],
  sourcemap: "linked",
});
// The loader finds zod.cjs beside itself: it must not land in main.js (in dist/cli/).
const loaderIn = Object.entries(cli.metafile.outputs).filter(
  ([, output]) => "pyro-zod-loader:loader" in output.inputs,
);
if (loaderIn.length !== 1 || !loaderIn[0][0].includes("/chunks/")) {
  throw new Error(
    `the zod loader must be in one chunk of chunks/, found in ${loaderIn.map(([name]) => name)}`,
  );
}

// src/archive/create.ts starts its worker from beside itself, here the archive chunk; the
// agent build's copy is self-contained.
copyFileSync(`${root}dist/agent/pack-worker.mjs`, `${cliDir}/chunks/pack-worker.mjs`);

// The VM supervisor (one per running guest) is bundled too, over the file tsc wrote: it
// starts on every create and reset, and loading its ~40 modules and zod's ~100 files took
// about 85 ms of its ~370 ms start (measured, interleaved runs), all before qemu starts.
// zod is the CLI's lazy chunk here too: the supervisor checks its config by the generated
// JSON schema and loads zod only to word an error.
await build({
  entryPoints: [`${root}src/backends/qemu/supervisor.ts`],
  outfile: `${root}dist/backends/qemu/supervisor.js`,
  allowOverwrite: true,
  ...NODE_BUNDLE,
  format: "esm",
  plugins: [lazyZod("../../cli/chunks/zod.cjs"), bakedVersion],
  banner: { js: requireBanner },
  sourcemap: "linked",
});
