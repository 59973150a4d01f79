// Bundles the guest agent (and the node-tar it uses) into one file that runs on the
// guest's Node 18 with no node_modules. The host backend runs this very file, so the fast
// host tests exercise the artifact real guests will run.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

await build({
  // The archive worker is a second file beside the agent: create.ts starts it by URL.
  entryPoints: {
    "pyro-agent": `${root}src/agent/main.ts`,
    "pack-worker": `${root}src/archive/pack-worker.mts`,
  },
  outdir: `${root}dist/agent`,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  target: "node18",
  format: "esm",
  sourcemap: "linked",
  legalComments: "none",
  banner: {
    // Some bundled CommonJS dependencies call require(); give ESM output one.
    js: "import { createRequire as __pyroCreateRequire } from 'node:module'; const require = __pyroCreateRequire(import.meta.url);",
  },
  logLevel: "warning",
});
