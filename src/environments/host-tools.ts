import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { PyroError } from "../errors.js";

/** Host programs pyro runs, and the Debian package that provides each. */
const HOST_TOOL_PACKAGES: Record<string, string> = {
  debootstrap: "debootstrap",
  "mkfs.ext4": "e2fsprogs",
  debugfs: "e2fsprogs",
  e2fsck: "e2fsprogs",
  cpio: "cpio",
  depmod: "kmod",
  "apt-get": "apt",
  "apt-cache": "apt",
  "dpkg-deb": "dpkg",
  "qemu-img": "qemu-utils",
  "qemu-system-x86_64": "qemu-system-x86",
};

const SEARCH_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Finds an executable on $PATH or in the usual sbin directories (root tools live there). */
export function findTool(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [...(env.PATH ?? "").split(path.delimiter).filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** Resolves every tool or fails with one message naming all the packages to install. */
export function requireTools(names: string[], purpose: string): Record<string, string> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    const location = findTool(name);
    if (location) found[name] = location;
    else missing.push(name);
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((name) => HOST_TOOL_PACKAGES[name] ?? name))];
    throw new PyroError(
      "backend_error",
      `${purpose} needs ${missing.join(", ")}, not found on this host; install with: apt-get install ${packages.join(" ")}`,
      { missing_tools: missing, packages },
    );
  }
  return found;
}

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each line the tool prints (progress for long steps). */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs a host tool to completion. On failure the error carries the tail of what it printed,
 * which is what a user needs to see (a mirror that cannot be reached, a full disk...).
 */
export function runTool(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      signal: options.signal,
    });
    let stdout = "";
    let tail = "";
    let partial = "";
    const keep = (chunk: Buffer, isStdout: boolean): void => {
      const text = chunk.toString("utf8");
      if (isStdout && stdout.length < 1_000_000) stdout += text;
      tail = (tail + text).slice(-4000);
      if (options.onLine) {
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) options.onLine(line);
      }
    };
    child.stdout.on("data", (chunk: Buffer) => keep(chunk, true));
    child.stderr.on("data", (chunk: Buffer) => keep(chunk, false));
    child.once("error", (error) =>
      reject(
        new PyroError(
          "backend_error",
          `could not run ${command}: ${error.message}`,
          {},
          { cause: error },
        ),
      ),
    );
    child.once("close", (code, signal) => {
      if (code === 0) {
        resolve({ stdout });
        return;
      }
      const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
      reject(
        new PyroError(
          "backend_error",
          `${path.basename(command)} ${how}: ${tail.trim().split("\n").slice(-8).join("\n")}`,
          { command: [command, ...args].join(" ") },
        ),
      );
    });
  });
}
