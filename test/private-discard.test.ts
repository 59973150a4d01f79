/**
 * The private-discard guard (src/native/private-discard.c), built with the host's compiler
 * and preloaded into util-linux's `fallocate`, which calls libc's fallocate() as qemu does.
 */
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import {
  GUARDED_FILE_VARIABLE,
  hasGuardLoaded,
  privateDiscard,
} from "../src/backends/qemu/private-discard.js";
import { findTool } from "../src/environments/host-tools.js";
import { withEnv } from "./helpers.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-guard-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sha256 = (file: string): string =>
  crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** A 1 MiB file of random bytes. */
function randomFile(name: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, crypto.randomBytes(1024 * 1024));
  return file;
}

/** util-linux's fallocate with the guard preloaded, guarding `guarded` (if given). */
function fallocate(library: string, guarded: string | null, args: string[]) {
  return spawnSync("fallocate", args, {
    encoding: "utf8",
    env: {
      ...process.env,
      LD_PRELOAD: library,
      ...(guarded === null ? {} : { [GUARDED_FILE_VARIABLE]: guarded }),
    },
  });
}

/** Whether the first 64 KiB of `file` read as zeros: the range `punch` names was punched. */
const punched = (file: string): boolean =>
  fs
    .readFileSync(file)
    .subarray(0, 65536)
    .every((byte) => byte === 0);

/** The guard built into this test's cache; the test is skipped where it cannot be. */
async function builtGuard(skip: (note?: string) => void, usesFallocate = true): Promise<string> {
  if (usesFallocate && !findTool("fallocate")) skip("util-linux's fallocate is not installed");
  const guard = await privateDiscard(path.join(dir, "cache"));
  if (guard.library === null) skip(guard.reason);
  return guard.library as string;
}

const punch = (file: string): string[] => [
  "--punch-hole",
  "--offset",
  "0",
  "--length",
  "65536",
  file,
];

describe("the private-discard guard", () => {
  it("turns a hole punch in the guarded file into nothing and leaves other files alone", async ({
    skip,
  }) => {
    const library = await builtGuard(skip);
    // In a directory only its owner can write: qemu runs whatever library it holds.
    expect(fs.statSync(path.dirname(library)).mode & 0o777).toBe(0o700);
    // Built once: a second call finds it.
    expect(await privateDiscard(path.join(dir, "cache"))).toEqual({ library });

    const template = randomFile("ram.bin");
    const before = sha256(template);
    // The punch qemu sends for a page a guest reported free: success, file unchanged.
    expect(fallocate(library, template, punch(template)).status).toBe(0);
    expect(sha256(template)).toBe(before);
    // The same file through another name (a hard link) is the same inode: still guarded.
    const link = path.join(dir, "ram-link.bin");
    fs.linkSync(template, link);
    expect(fallocate(library, link, punch(template)).status).toBe(0);
    expect(sha256(template)).toBe(before);
    // Any other change of the guarded file's allocation is refused.
    const grow = fallocate(library, template, ["--length", "4M", template]);
    expect(grow.status).not.toBe(0);
    expect(grow.stderr).toMatch(/not permitted/i);
    expect(fs.statSync(template).size).toBe(1024 * 1024);

    // Another file is punched as usual (qemu's disks discard through the same call).
    const other = randomFile("other.bin");
    expect(fallocate(library, template, punch(other)).status).toBe(0);
    expect(punched(other)).toBe(true);
    // Without the variable the guard guards nothing.
    const unguarded = randomFile("unguarded.bin");
    expect(fallocate(library, null, punch(unguarded)).status).toBe(0);
    expect(punched(unguarded)).toBe(true);
  });

  it("stops the process when the file it must guard cannot be found", async ({ skip }) => {
    const library = await builtGuard(skip);
    const victim = randomFile("victim.bin");
    const before = sha256(victim);
    const run = fallocate(library, path.join(dir, "missing.bin"), punch(victim));
    expect(run.status).toBe(70);
    expect(run.stderr).toContain("pyro private-discard: cannot stat");
    expect(sha256(victim)).toBe(before);
  });

  it("is seen in a process's maps only when the process loaded it", async ({ skip }) => {
    const library = await builtGuard(skip, false);
    const guarded = randomFile("seen.bin");
    const start = (env: NodeJS.ProcessEnv) =>
      spawn("sleep", ["30"], { env: { ...process.env, ...env }, stdio: "ignore" });
    const withGuard = start({ LD_PRELOAD: library, [GUARDED_FILE_VARIABLE]: guarded });
    const without = start({});
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(hasGuardLoaded(withGuard.pid as number, library)).toBe(true);
      // Named through a symlink, as a cache directory reached through one would be.
      const alias = path.join(dir, "alias");
      fs.symlinkSync(path.dirname(library), alias);
      expect(
        hasGuardLoaded(withGuard.pid as number, path.join(alias, path.basename(library))),
      ).toBe(true);
      expect(hasGuardLoaded(without.pid as number, library)).toBe(false);
    } finally {
      withGuard.kill("SIGKILL");
      without.kill("SIGKILL");
    }
  });

  it("is off, with its reason, when asked or when it cannot be built", async () => {
    await withEnv({ PYRO_QEMU_PRIVATE_DISCARD: "0" }, async () => {
      expect(await privateDiscard(path.join(dir, "off"))).toEqual({
        library: null,
        reason: "the private-discard guard is off (PYRO_QEMU_PRIVATE_DISCARD=0)",
      });
    });
    // A compiler that fails: the reason carries what it printed, and nothing is left behind.
    const failing = path.join(dir, "failing-cc");
    fs.writeFileSync(failing, "#!/bin/sh\necho 'cc: out of luck' >&2\nexit 1\n", { mode: 0o755 });
    const cache = path.join(dir, "failing");
    await withEnv({ CC: failing }, async () => {
      const result = await privateDiscard(cache);
      expect(result.library).toBeNull();
      expect(result).toMatchObject({
        reason: expect.stringContaining("building the private-discard guard failed"),
      });
      expect(JSON.stringify(result)).toContain("cc: out of luck");
    });
    expect(fs.readdirSync(path.join(cache, "native"))).toEqual([]);
    await withEnv({ CC: path.join(dir, "no-such-compiler") }, async () => {
      expect(await privateDiscard(path.join(dir, "no-compiler"))).toEqual({
        library: null,
        reason: "no C compiler (cc or gcc) to build the private-discard guard",
      });
    });
  });
});
