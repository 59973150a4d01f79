// Bundles the guest agent (and the node-tar it uses) into one file that runs on the
// guest's Node 18 with no node_modules. The host backend runs this very file, so the fast
// host tests exercise the artifact real guests will run.
//
// The agent's version is derived here, never edited by hand: the package version plus a
// digest of the bundle built without it ("0.1.0+3f2a9c1d0b7e"), so two agents that report
// the same version run the same code. It is also written to agent-version.json beside the
// bundle for the host side (environment manifests), which does not load the bundle.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { version: packageVersion } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

const options = {
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
};

// Pass 1, in memory: the code without its version, to digest.
const draft = await build({
  ...options,
  sourcemap: false,
  write: false,
  define: { __PYRO_AGENT_VERSION__: '"0.0.0"' },
});
const digest = createHash("sha256");
for (const file of [...draft.outputFiles].sort((a, b) => a.path.localeCompare(b.path))) {
  digest.update(file.contents);
}
const agentVersion = `${packageVersion}+${digest.digest("hex").slice(0, 12)}`;

// Pass 2: the files that ship.
await build({ ...options, define: { __PYRO_AGENT_VERSION__: JSON.stringify(agentVersion) } });
writeFileSync(
  `${root}dist/agent/agent-version.json`,
  `${JSON.stringify({ version: agentVersion }, null, 2)}\n`,
);
