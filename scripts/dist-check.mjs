// Packs the package the way `npm publish` would, installs the tarball into a scratch
// project, and runs the installed `pyro` binary: proof that what we ship works on its own
// (bin, shebang, agent bundle, runtime dependencies), not just from the source tree.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-dist-"));
const run = (command, args, options = {}) =>
  execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options });

try {
  const packed = JSON.parse(
    run("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: root }),
  );
  const files = new Set(packed[0].files.map((file) => file.path));
  for (const required of [
    "dist/cli/main.js",
    "dist/agent/pyro-agent.mjs",
    "dist/backends/qemu/supervisor.js",
    "dist/index.js",
    "dist/index.d.ts",
    "package.json",
    "README.md",
  ]) {
    if (!files.has(required)) throw new Error(`the package is missing ${required}`);
  }
  for (const file of files) {
    if (file.startsWith("src/") || file.startsWith("test/"))
      throw new Error(`the package ships ${file}`);
  }
  const project = path.join(scratch, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "dist-check", private: true }),
  );
  run("npm", ["install", "--no-audit", "--no-fund", path.join(scratch, packed[0].filename)], {
    cwd: project,
  });
  const out = run(
    path.join(project, "node_modules", ".bin", "pyro"),
    ["run", "debian:12", "--allow-host-compat", "--json", "--", "echo", "packaged"],
    {
      cwd: project,
      env: { ...process.env, PYRO_STATE_DIR: path.join(scratch, "state") },
    },
  );
  const result = JSON.parse(out);
  if (result.exit_code !== 0 || result.stdout !== "packaged\n")
    throw new Error(`unexpected result: ${out}`);
  const sdk = run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      'import { Manager, operations } from "pyro-mcp"; console.log(typeof Manager, operations.length);',
    ],
    { cwd: project },
  );
  console.log(
    `dist-check: ${packed[0].filename} (${files.size} files, ${packed[0].size} bytes) installs; pyro run and the SDK import work (${sdk.trim()})`,
  );
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
