/**
 * The agent's system call helper (src/agent/sys-helper.ts), a real perl process. Only what
 * is safe on the host runs here (no clock, mount or freeze of the host's own filesystems):
 * the QEMU tier exercises those in a guest (every volume reset mounts through it, every
 * volume snapshot freezes through it, the clock tests step through it).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { sysHelper } from "../src/agent/sys-helper.js";

const isRoot = process.getuid?.() === 0;

function helperPid(): number | null {
  const out = execFileSync("pgrep", ["-P", String(process.pid), "perl"], {
    encoding: "utf8",
  }).trim();
  return out === "" ? null : Number(out.split("\n")[0]);
}

describe("the agent's system call helper", () => {
  sysHelper.start();
  afterAll(() => {
    const pid = helperPid();
    if (pid !== null) process.kill(pid, "SIGKILL");
  });

  it.runIf(isRoot)("reseeds the kernel RNG (RNDADDENTROPY + RNDRESEEDCRNG)", async () => {
    expect(await sysHelper.request("reseed", "ab".repeat(32))).toEqual({ ok: true });
  });

  it("answers each failure with the operation and the system's reason", async () => {
    expect(await sysHelper.request("flushbufs", "/nonexistent-device")).toEqual({
      ok: false,
      reason: "flushbufs: No such file or directory",
    });
    // A directory that is not frozen: FITHAW says EINVAL (or the filesystem cannot freeze).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-sys-helper-"));
    const thaw = await sysHelper.request("thaw", dir);
    expect(thaw?.ok).toBe(false);
    expect(thaw && !thaw.ok ? thaw.reason : "").toMatch(/^thaw: /);
    fs.rmSync(dir, { recursive: true });
    expect(
      await sysHelper.request("mount", "/nonexistent-a", "/nonexistent-b", "ext4", "0"),
    ).toEqual({ ok: false, reason: "mount: No such file or directory" });
    expect(await sysHelper.request("bogus")).toEqual({ ok: false, reason: "unknown operation" });
  });

  it("refuses an argument that would break the line protocol, without sending it", async () => {
    expect(await sysHelper.request("flushbufs", "/dev/a b")).toEqual({
      ok: false,
      reason: "flushbufs: an argument is not printable ASCII",
    });
    expect(await sysHelper.request("flushbufs", "/dev/a\nreseed 00")).toEqual({
      ok: false,
      reason: "flushbufs: an argument is not printable ASCII",
    });
    // The helper still answers in step: the next answer is its own.
    expect(await sysHelper.request("bogus")).toEqual({ ok: false, reason: "unknown operation" });
  });

  it("answers null when the helper dies mid-request (callers fall back to the tool)", async () => {
    const pid = helperPid();
    expect(pid).not.toBeNull();
    const answer = sysHelper.request("bogus");
    process.kill(pid as number, "SIGKILL");
    expect(await answer).toBeNull();
  });

  it("replaces a helper that died with the next request, whatever the request", async () => {
    // Every caller, not only the reseed: a mount or a freeze after the kill gets a helper.
    const before = helperPid();
    if (before !== null) process.kill(before, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await sysHelper.request("flushbufs", "/nonexistent-device")).toEqual({
      ok: false,
      reason: "flushbufs: No such file or directory",
    });
    const after = helperPid();
    expect(after).not.toBeNull();
    expect(after).not.toBe(before);
  });

  it("runs requests one at a time, each answered in order", async () => {
    const answers = await Promise.all([
      sysHelper.request("flushbufs", "/nonexistent-1"),
      sysHelper.request("bogus"),
      sysHelper.request("thaw", "/nonexistent-2"),
    ]);
    expect(answers).toEqual([
      { ok: false, reason: "flushbufs: No such file or directory" },
      { ok: false, reason: "unknown operation" },
      { ok: false, reason: "thaw: No such file or directory" },
    ]);
  });
});
