/**
 * The private-discard guard (src/native/private-discard.c): a small library qemu loads when
 * it restores a booted-guest template, so a restored guest can give freed memory back
 * without a hole ever being punched in the template's RAM file (docs/qemu-backend.md,
 * "Memory of a restored guest"). Built once per source and architecture with the host's C
 * compiler into the environment cache.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { findTool, runTool } from "../../environments/host-tools.js";
import { packageFile } from "../../package-root.js";

/** The library qemu preloads, or why a restored guest runs without a balloon. */
type PrivateDiscard = { library: string } | { library: null; reason: string };

/** Variable naming the file the guard protects (read by the library's constructor). */
export const GUARDED_FILE_VARIABLE = "PYRO_PRIVATE_RAM_FILE";

const NO_COMPILER = "no C compiler (cc or gcc) to build the private-discard guard";

/** Where this host's guard library goes and what builds it, or why there is none. */
function plan(
  cacheDir: string,
): { target: string; sourceFile: string; compiler: string | null } | { reason: string } {
  if (process.env.PYRO_QEMU_PRIVATE_DISCARD === "0") {
    return { reason: "the private-discard guard is off (PYRO_QEMU_PRIVATE_DISCARD=0)" };
  }
  let sourceFile: string;
  let source: Buffer;
  try {
    // Like the agent and the supervisor, the shipped copy (the build copies src/native).
    sourceFile = packageFile(path.join("dist", "native", "private-discard.c"));
    source = fs.readFileSync(sourceFile);
  } catch (error) {
    return { reason: `the guard's source: ${(error as Error).message}` };
  }
  const digest = createHash("sha256").update(source).update(process.arch).digest("hex");
  const target = path.join(cacheDir, "native", `private-discard-${digest.slice(0, 16)}.so`);
  // ld.so splits LD_PRELOAD at spaces and colons: such a path cannot be preloaded.
  if (/[\s:]/.test(target)) return { reason: `the cache path cannot be preloaded (${target})` };
  return { target, sourceFile, compiler: findCompiler(process.env.CC) };
}

/**
 * The guard library for this host, building it on first use. Without a C compiler (or with
 * `PYRO_QEMU_PRIVATE_DISCARD=0`) restored guests keep the shape they had before the guard:
 * no balloon, so memory they free stays theirs until the next reset.
 */
export async function privateDiscard(cacheDir: string): Promise<PrivateDiscard> {
  const found = plan(cacheDir);
  if ("reason" in found) return { library: null, reason: found.reason };
  const { target, sourceFile, compiler } = found;
  if (fs.existsSync(target)) return { library: target };
  if (!compiler) return { library: null, reason: NO_COMPILER };
  // Private, like the templates: qemu runs whatever library this directory holds.
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  const temp = path.join(path.dirname(target), `.private-discard-${process.pid}-${Date.now()}.so`);
  try {
    await runTool(compiler, [
      ...["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror"],
      ...["-o", temp, sourceFile],
    ]);
    fs.chmodSync(temp, 0o555);
    // Concurrent builders each rename a complete file into place: the last one wins.
    fs.renameSync(temp, target);
    return { library: target };
  } catch (error) {
    return {
      library: null,
      reason: `building the private-discard guard failed: ${(error as Error).message}`,
    };
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** What `pyro doctor` says of the guard, without building it. */
export function privateDiscardStatus(cacheDir: string): { available: boolean; detail: string } {
  const found = plan(cacheDir);
  if ("reason" in found) return { available: false, detail: found.reason };
  if (fs.existsSync(found.target)) return { available: true, detail: found.target };
  if (found.compiler === null) return { available: false, detail: NO_COMPILER };
  return { available: true, detail: `built with ${found.compiler} by the first restore` };
}

/** `$CC` (a name on PATH or a path), else cc, else gcc. */
function findCompiler(cc: string | undefined): string | null {
  if (cc?.includes("/")) {
    try {
      fs.accessSync(cc, fs.constants.X_OK);
      return cc;
    } catch {
      return null;
    }
  }
  return findTool(cc || "cc") ?? findTool("gcc");
}

/**
 * Throws unless qemu has the guard mapped, when it should: without it a page the guest
 * reports free would punch a hole in the template's RAM that every restore shares. Checked
 * before the guest runs (a restore, a resume), once QMP answers (ld.so has mapped every
 * preload by then).
 */
export function requireGuardLoaded(
  pid: number | undefined,
  guard: { library: string } | null | undefined,
): void {
  if (guard && (pid === undefined || !hasGuardLoaded(pid, guard.library))) {
    throw new Error(`qemu did not load the private-discard guard ${guard.library}`);
  }
}

/** Whether qemu (pid) has the guard library mapped: checked before its guest runs. */
export function hasGuardLoaded(pid: number, library: string): boolean {
  try {
    // The maps name the file by its real path (a cache reached through a symlink differs).
    const real = fs.realpathSync(library);
    return fs
      .readFileSync(`/proc/${pid}/maps`, "utf8")
      .split("\n")
      .some((line) => line.endsWith(` ${real}`));
  } catch {
    return false;
  }
}
