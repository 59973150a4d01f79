// Packs the package the way `npm publish` would, installs the tarball into a scratch
// project, and runs the installed `pyro` binary: proof that what we ship works on its own
// (bin, shebang, agent bundle, runtime dependencies), not just from the source tree.
// Checked from there: `pyro --version`, `pyro run`, `pyro mcp serve` answering tools/list
// to a real MCP client, the SDK import, examples/reset-over-repair.ts, and the shipped type
// declarations (a strict consumer typecheck of the example and a few typed calls).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { build } from "esbuild";

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
    // main.js is CommonJS and its chunks ES modules, by these two (scripts/build-cli.mjs).
    "dist/cli/package.json",
    "dist/cli/chunks/package.json",
    "dist/cli/chunks/run.js",
    "dist/cli/chunks/read.cjs",
    "dist/agent/pyro-agent.mjs",
    "dist/backends/qemu/supervisor.js",
    "dist/index.js",
    "dist/index.d.ts",
    "dist/mcp/embed.d.ts",
    "dist/runtime.d.ts",
    "package.json",
    "README.md",
    "LICENSE",
  ]) {
    if (!files.has(required)) throw new Error(`the package is missing ${required}`);
  }
  for (const file of files) {
    if (file.startsWith("src/") || file.startsWith("test/"))
      throw new Error(`the package ships ${file}`);
    // Source maps stay in the build for local debugging; the package leaves them out.
    if (file.endsWith(".map")) throw new Error(`the package ships the source map ${file}`);
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
  const pyro = path.join(project, "node_modules", ".bin", "pyro");
  const env = { ...process.env, PYRO_STATE_DIR: path.join(scratch, "state"), PYRO_BACKEND: "host" };
  const version = run(pyro, ["--version"], { cwd: project }).trim();
  const expectedVersion = JSON.parse(
    fs.readFileSync(path.join(root, "package.json"), "utf8"),
  ).version;
  if (version !== expectedVersion)
    throw new Error(`pyro --version printed '${version}', expected ${expectedVersion}`);
  const out = run(
    pyro,
    ["run", "debian:12", "--allow-host-compat", "--json", "--", "echo", "packaged"],
    { cwd: project, env },
  );
  const result = JSON.parse(out);
  if (result.exit_code !== 0 || result.stdout !== "packaged\n")
    throw new Error(`unexpected result: ${out}`);
  // A read-only call takes the CommonJS read path (chunks/read.cjs).
  const listed = JSON.parse(run(pyro, ["workspace", "list", "--json"], { cwd: project, env }));
  if (!Array.isArray(listed.workspaces) || listed.count !== 0)
    throw new Error(`unexpected pyro workspace list output: ${JSON.stringify(listed)}`);
  // The installed package finds its own qemu supervisor and reports on the host.
  const doctor = JSON.parse(run(pyro, ["doctor", "--json"], { cwd: project, env }));
  if (!Array.isArray(doctor.backends) || typeof doctor.capabilities?.vm_boot !== "boolean")
    throw new Error(`unexpected pyro doctor output: ${JSON.stringify(doctor)}`);
  const sdk = run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      'import { Pyro, operations } from "pyro-mcp"; console.log(typeof Pyro.prototype.createWorkspace, operations.length);',
    ],
    { cwd: project },
  );
  const listTools = async (args) => {
    const client = new Client({ name: "dist-check", version: "0" });
    await client.connect(
      new StdioClientTransport({ command: pyro, args, cwd: project, env, stderr: "ignore" }),
    );
    const { tools } = await client.listTools();
    await client.close();
    return tools;
  };
  const tools = await listTools(["mcp", "serve", "--profile", "workspace-full"]);
  // workspace-full: one tool per catalogue operation, as the installed package counts them.
  const [sdkKind, operationCount] = sdk.trim().split(" ");
  if (sdkKind !== "function" || !(Number(operationCount) > 0))
    throw new Error(`unexpected SDK import output: ${sdk.trim()}`);
  if (tools.length !== Number(operationCount))
    throw new Error(
      `pyro mcp serve --profile workspace-full listed ${tools.length} tools, expected ${operationCount} (the catalogue's operations)`,
    );
  // The default profile, workspace-core: the workspace loop without snapshots, shells,
  // services or one-shot VMs (src/mcp/profiles.ts).
  const core = (await listTools(["mcp", "serve"])).map((tool) => tool.name);
  if (
    !core.includes("workspace_exec") ||
    !core.includes("workspace_summary") ||
    core.includes("snapshot_create") ||
    core.includes("vm_run") ||
    core.length >= tools.length
  )
    throw new Error(`pyro mcp serve (workspace-core) listed an unexpected set: ${core.join(", ")}`);
  // The example, compiled as it is (imports "pyro-mcp"), runs against the installed package.
  await build({
    entryPoints: [path.join(root, "examples", "reset-over-repair.ts")],
    outfile: path.join(project, "reset-over-repair.mjs"),
    format: "esm",
    platform: "node",
    logLevel: "error",
  });
  const example = run(process.execPath, ["reset-over-repair.mjs"], { cwd: project, env });
  checkTypes(project);
  if (!example.includes("modified greet.sh"))
    throw new Error(`unexpected example output: ${example}`);
  console.log(
    `dist-check: ${packed[0].filename} (${files.size} files, ${packed[0].size} bytes) installs; pyro ${version}, pyro run, pyro workspace list (the read path), pyro doctor, pyro mcp serve (${core.length} tools; ${tools.length} in workspace-full), the SDK import (${sdk.trim()}) and examples/reset-over-repair.ts work`,
  );
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}

/**
 * The shipped declarations type a consumer's code: the example compiles against the installed
 * package under strict settings, and a wrong input type is an error (were the SDK typed as
 * `any`, the @ts-expect-error below would itself fail).
 */
function checkTypes(project) {
  fs.copyFileSync(
    path.join(root, "examples", "reset-over-repair.ts"),
    path.join(project, "reset-over-repair.ts"),
  );
  fs.writeFileSync(
    path.join(project, "types-check.ts"),
    [
      'import { Pyro, PyroError, type PyroResult } from "pyro-mcp";',
      'import { createServer } from "pyro-mcp/mcp";',
      'const pyro = new Pyro({ backend: "host" });',
      'const exec: PyroResult<"workspace_exec"> = await pyro.execWorkspace({ workspace_id: "w", command: "true" });',
      // null while a command yielded to the background (wait_seconds) is still running.
      "const code: number | null = exec.exit_code;",
      "// @ts-expect-error exit_code may be null",
      "const strict: number = exec.exit_code;",
      "// @ts-expect-error workspace_id is a string",
      'await pyro.execWorkspace({ workspace_id: 1, command: "true" });',
      "export const checked = [code, strict, PyroError, createServer(pyro)];",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        typeRoots: [path.join(root, "node_modules", "@types")],
        types: ["node"],
      },
      files: ["reset-over-repair.ts", "types-check.ts"],
    }),
  );
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({
      ...JSON.parse(fs.readFileSync(path.join(project, "package.json"), "utf8")),
      type: "module",
    }),
  );
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  run(process.execPath, [tsc, "-p", project], { cwd: project });
  // The SDK entry alone typechecks with no DOM library and every declaration checked
  // (skipLibCheck off): nothing we export drags in the MCP SDK's fetch/DOM types.
  fs.writeFileSync(
    path.join(project, "lean.ts"),
    [
      'import { Pyro, type PyroResult } from "pyro-mcp";',
      "const pyro = new Pyro();",
      'const listed: PyroResult<"vm_list_environments"> = await pyro.listEnvironments({});',
      "export const names: string[] = listed.environments.map((environment) => environment.name);",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(project, "tsconfig.lean.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2022"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        typeRoots: [path.join(root, "node_modules", "@types")],
        types: ["node"],
      },
      files: ["lean.ts"],
    }),
  );
  run(process.execPath, [tsc, "-p", path.join(project, "tsconfig.lean.json")], { cwd: project });
}
