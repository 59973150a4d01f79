/**
 * scripts/guest-setup.sh fails loudly where it cannot finish: run as an unprivileged user
 * (no root, no sudo) against an empty cache, it names what is missing and exits non-zero;
 * only `--if-possible` (what `npm test` passes) skips the real-guest tier with status 0, and
 * not under CI. The user is `nobody` through runuser, so these checks need root.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { findTool } from "../src/environments/host-tools.js";
import { useTempState } from "./helpers.js";

const state = useTempState();
const script = path.resolve(import.meta.dirname, "..", "scripts", "guest-setup.sh");
const runuser = findTool("runuser");
const canDropRoot = process.getuid?.() === 0 && runuser !== null;

function setupAsNobody(args: string[], ci: string) {
  const dir = state.base();
  fs.chmodSync(dir, 0o777);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    PYRO_STATE_DIR: path.join(dir, "state"),
    PYRO_ENVIRONMENT_CACHE_DIR: path.join(dir, "cache"),
    CI: ci,
  };
  return spawnSync(runuser as string, ["-u", "nobody", "--", "bash", script, ...args], {
    encoding: "utf8",
    env,
  });
}

describe("scripts/guest-setup.sh", () => {
  it("refuses an unknown argument", () => {
    const result = spawnSync("bash", [script, "--bogus"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown argument '--bogus'");
  });

  it.skipIf(!canDropRoot)("exits non-zero, saying why, when it cannot get root", () => {
    const result = setupAsNobody([], "");
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/needs root|install as root/);
    expect(result.stderr).toContain("guest-setup: FAILED: real guests are not set up");
  });

  it.skipIf(!canDropRoot)("skips the tier with --if-possible, except under CI", () => {
    const skipped = setupAsNobody(["--if-possible"], "");
    expect(skipped.status, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain("the real-guest test tier will be skipped");
    const underCi = setupAsNobody(["--if-possible"], "1");
    expect(underCi.status).toBe(1);
    expect(underCi.stderr).toContain("FAILED");
  });
});
