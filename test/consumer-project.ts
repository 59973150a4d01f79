/**
 * A scratch TypeScript project that depends on the built package (dist/, through a
 * node_modules symlink, as an installed copy resolves it) and is compiled by our own tsc:
 * the consumer's view of our declarations (test/sdk-consumer.test.ts, test/sdk-docs.test.ts).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "..");
const TSC = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");

/** Strict settings every consumer here starts from; `lib`, `types` and `noEmit` vary. */
export const STRICT_CONSUMER = {
  target: "ES2022",
  module: "NodeNext",
  moduleResolution: "NodeNext",
  strict: true,
  skipLibCheck: false,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  typeRoots: [path.join(repoRoot, "node_modules", "@types")],
};

export interface ConsumerProject {
  dir: string;
  /** Runs tsc on the project; returns its exit status and diagnostics. */
  compile: () => { status: number | null; output: string };
  remove: () => void;
}

export function consumerProject(
  files: Record<string, string>,
  compilerOptions: Record<string, unknown>,
  /** Packages besides pyro-mcp the code imports (resolved from our node_modules). */
  packages: string[] = [],
): ConsumerProject {
  if (!fs.existsSync(path.join(repoRoot, "dist", "index.d.ts")))
    throw new Error("dist/index.d.ts is missing: run `npm run build` first");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-consumer-"));
  fs.mkdirSync(path.join(dir, "node_modules", "@modelcontextprotocol"), { recursive: true });
  fs.symlinkSync(repoRoot, path.join(dir, "node_modules", "pyro-mcp"));
  for (const name of packages)
    fs.symlinkSync(
      fs.realpathSync(path.join(repoRoot, "node_modules", name)),
      path.join(dir, "node_modules", name),
    );
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions, files: Object.keys(files) }, null, 2),
  );
  return {
    dir,
    compile: () => {
      const result = spawnSync(process.execPath, [TSC, "-p", dir, "--pretty", "false"], {
        encoding: "utf8",
      });
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
