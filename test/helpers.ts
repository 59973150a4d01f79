import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, expect } from "vitest";

import type { SandboxSpec } from "../src/backends/types.js";
import { readProcStat } from "../src/process/process-group.js";
import { Manager, type ManagerOptions } from "../src/core/manager.js";

/**
 * Per-test sandbox state: a temp base dir and the managers made on it. After each test
 * every workspace and VM under the base dir is deleted, so no agent process outlives it.
 */
export function useTempState(): {
  base: () => string;
  manager: (options?: ManagerOptions) => Manager;
  stateDir: () => string;
} {
  let base: string | null = null;
  const managers: Manager[] = [];

  const ensureBase = (): string => {
    base ??= fs.mkdtempSync(path.join(os.tmpdir(), "pyro-test-"));
    return base;
  };

  afterEach(async () => {
    if (base) {
      const cleaner = new Manager({ baseDir: path.join(base, "vms"), backend: "host" });
      await deleteEverything(cleaner);
      cleaner.close();
      fs.rmSync(base, { recursive: true, force: true });
    }
    for (const manager of managers.splice(0)) manager.close();
    base = null;
  });

  return {
    base: ensureBase,
    stateDir: () => path.join(ensureBase(), "vms"),
    manager: (options: ManagerOptions = {}) => {
      const manager = new Manager({
        baseDir: path.join(ensureBase(), "vms"),
        backend: "mock",
        ...options,
      });
      managers.push(manager);
      return manager;
    },
  };
}

async function deleteEverything(manager: Manager): Promise<void> {
  const layout = manager.context.layout;
  for (const id of listDirs(layout.workspacesDir)) {
    await manager.deleteWorkspace(id).catch(() => undefined);
  }
  for (const id of listDirs(layout.vmsDir)) {
    await manager.deleteVm(id).catch(() => undefined);
  }
}

export function listDirs(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function writeTree(root: string, files: Record<string, string>): string {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return root;
}

/** Edits a JSON record on disk, as an operator or a crashed writer might. */
export function editJson(file: string, edit: (value: Record<string, unknown>) => void): void {
  const value = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(value);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Runs `fn` with environment variables set, restoring them afterwards. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** Reads the shell from `cursor` until the output contains `needle` (or 5 s pass). */
export async function readUntil(
  target: Pick<Manager, "readShell">,
  workspaceId: string,
  shellId: string,
  needle: string | RegExp,
  cursor = 0,
): Promise<string> {
  const deadline = Date.now() + 5_000;
  let output = "";
  while (Date.now() < deadline) {
    output = (await target.readShell(workspaceId, shellId, { cursor, max_chars: 65536 })).output;
    if (typeof needle === "string" ? output.includes(needle) : needle.test(output)) return output;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    `shell output never matched ${String(needle)}; got ${JSON.stringify(output.slice(-500))}`,
  );
}

/**
 * Waits until `command` (its /proc comm) is the foreground job of the terminal whose
 * session leader is `shellPid`. A Ctrl-C sent any earlier reaches the shell, not the job:
 * a real race of every terminal, which tests must not leave to chance.
 */
export async function waitForForeground(shellPid: number, command: string): Promise<void> {
  await waitFor(() => {
    const foreground = readProcStat(shellPid)?.tpgid ?? -1;
    if (foreground <= 0) return false;
    for (const name of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const stat = readProcStat(Number(name));
      if (!stat || stat.sid !== shellPid || stat.pgid !== foreground) continue;
      try {
        if (fs.readFileSync(`/proc/${name}/comm`, "utf8").trim() === command) return true;
      } catch {
        // exited while we looked
      }
    }
    return false;
  });
}

/**
 * Resolves with the child's exit code (null after a signal) once it has exited, at once if
 * it already has: an `exit` listener added after the exit would wait forever (a hook
 * timeout under load, when the child finished before the test got to kill it).
 */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/**
 * A `--require` preload (written into `dir`) that reports at exit whether the process
 * required the bundle's zod, chunks/zod.cjs (scripts/build-cli.mjs loads it on first use);
 * read the report with zodLoadedIn.
 */
export function zodProbe(dir: string): string {
  const preload = path.join(dir, "zod-probe.cjs");
  fs.writeFileSync(
    preload,
    `process.on("exit", () => {
      const loaded = Object.keys(require.cache).some((file) => file.endsWith("/chunks/zod.cjs"));
      process.stderr.write("ZOD-LOADED " + loaded + "\\n");
    });`,
  );
  return preload;
}

/** What zodProbe's preload reported in `stderr`; undefined when it reported nothing. */
export function zodLoadedIn(stderr: string): boolean | undefined {
  const reported = /ZOD-LOADED (true|false)/.exec(stderr)?.[1];
  return reported === undefined ? undefined : reported === "true";
}

/**
 * Fails unless the generated file `file` (relative to the repository) holds `generated`;
 * with `$<update>=1` set, writes it first. The message names the command that rewrites it.
 */
export function expectGenerated(
  file: string,
  generated: string,
  options: { update: string; test: string },
): void {
  const absolute = path.resolve(import.meta.dirname, "..", file);
  if (process.env[options.update] === "1") fs.writeFileSync(absolute, generated);
  expect(
    fs.readFileSync(absolute, "utf8") === generated,
    `${file} is stale: run ${options.update}=1 npx vitest run ${options.test}`,
  ).toBe(true);
}

/**
 * What a backend boots for a test that drives it directly (no record, no manager): a
 * debian:12 guest of one vCPU, no network, expiring in 10 minutes unless `overrides` say
 * otherwise.
 */
export function guestSpec(sandboxDir: string, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    sandboxId: path.basename(sandboxDir),
    environment: "debian:12",
    sandboxDir,
    vcpuCount: 1,
    memMib: 1024,
    allowHostCompat: false,
    networkRequested: false,
    expiresAt: Date.now() / 1000 + 600,
    networkPolicy: "off",
    allowHosts: [],
    ...overrides,
  };
}
