/**
 * The environment cache: validity rules, repair, prune, the agent refresh and concurrent
 * pulls, on real (small) entries built in a temp cache: a real ext4 image made with
 * mkfs.ext4 -d, real digests, the real pull code. The full build from Debian packages is
 * exercised by scripts/guest-setup.sh and the real-guest tier.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { agentFiles } from "../src/environments/agent-files.js";
import { findTool, requireTools } from "../src/environments/host-tools.js";
import { pullEnvironment } from "../src/environments/pull.js";
import { EnvironmentStore } from "../src/environments/store.js";
import { makeEntry } from "./environment-entry.js";
import { useTempState } from "./helpers.js";

const state = useTempState();
const haveExt4Tools = findTool("mkfs.ext4") !== null && findTool("debugfs") !== null;

function newStore(): EnvironmentStore {
  return new EnvironmentStore(path.join(state.base(), "cache"));
}

describe("environment cache", () => {
  it("knows missing, installed, broken and stale entries", async () => {
    const store = newStore();
    expect((await store.check("debian:12", { full: true })).status).toBe("missing");
    await expect(store.bootArtifacts("debian:12")).rejects.toThrow(
      "environment debian:12 is not installed",
    );

    const manifest = await makeEntry(store, state.base());
    expect((await store.check("debian:12", { full: true })).status).toBe("installed");
    const boot = await store.bootArtifacts("debian:12");
    expect(boot.rootfs).toBe(path.join(store.entryDir("debian:12"), "rootfs.ext4"));

    // Same size, different bytes: the stamp no longer matches, so the digest is checked.
    const rootfs = path.join(store.entryDir("debian:12"), "rootfs.ext4");
    fs.writeFileSync(rootfs, "ROOTFS BYTES");
    const altered = await store.check("debian:12", { full: false });
    expect(altered.status).toBe("broken");
    expect(altered.reason).toContain("rootfs.ext4 does not match its sha256 digest");
    await expect(store.bootArtifacts("debian:12")).rejects.toThrow(
      /environment debian:12 is broken .*run `pyro env pull debian:12` to repair it/,
    );

    fs.writeFileSync(rootfs, "short");
    expect((await store.check("debian:12", { full: false })).reason).toContain("has 5 bytes");
    fs.rmSync(rootfs);
    expect((await store.check("debian:12", { full: false })).reason).toContain("is missing");

    fs.rmSync(path.join(store.entryDir("debian:12"), "manifest.json"));
    expect((await store.check("debian:12", { full: false })).reason).toContain(
      "manifest.json is missing",
    );

    await makeEntry(store, state.base());
    const manifestFile = path.join(store.entryDir("debian:12"), "manifest.json");
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, recipe_version: 0 }));
    expect((await store.check("debian:12", { full: false })).status).toBe("stale");
    fs.writeFileSync(manifestFile, "{not json");
    expect((await store.check("debian:12", { full: false })).status).toBe("broken");
  });

  it("prunes interrupted pulls and broken entries, keeps good ones unless told", async () => {
    const store = newStore();
    await makeEntry(store, state.base());
    fs.mkdirSync(path.join(store.stagingDir, "debian-12-dead"), { recursive: true });
    fs.mkdirSync(store.entryDir("debian:12-base"), { recursive: true }); // no manifest
    const pruned = await store.prune({ all: false });
    expect(pruned.removed).toEqual([".staging", "debian:12-base"]);
    expect(pruned.kept).toEqual(["debian:12"]);
    expect(fs.existsSync(store.entryDir("debian:12"))).toBe(true);
    expect((await store.prune({ all: true })).removed).toEqual(["debian:12"]);
    expect(fs.existsSync(store.entryDir("debian:12"))).toBe(false);
  });

  it("treats concurrent pulls of a valid entry as one, and reports it cached", async () => {
    const store = newStore();
    await makeEntry(store, state.base());
    const results = await Promise.all([
      pullEnvironment(store, "debian:12"),
      pullEnvironment(store, "debian:12"),
    ]);
    expect(results.map((result) => result.action)).toEqual(["cached", "cached"]);
    await expect(pullEnvironment(store, "debian:13")).rejects.toThrow(
      "environment must be one of debian:12, debian:12-base, debian:12-build, got 'debian:13'",
    );
  });

  it("refreshes an image built from another agent in place, with debugfs", async ({ skip }) => {
    if (!haveExt4Tools) skip("mkfs.ext4/debugfs not installed");
    const store = newStore();
    const before = await makeEntry(store, state.base(), {
      agentSha: "0".repeat(64),
      withImage: true,
    });
    expect((await store.check("debian:12", { full: true })).agent_outdated).toBe(true);
    const phases: string[] = [];
    const result = await pullEnvironment(store, "debian:12", {
      onProgress: (event) => phases.push(event.message),
    });
    expect(result.action).toBe("agent_refreshed");
    expect(phases[0]).toBe("refreshing the guest agent in debian:12");
    const after = await store.check("debian:12", { full: true });
    expect(after.status).toBe("installed");
    expect(after.agent_outdated).toBe(false);
    expect(after.manifest?.rootfs.sha256).not.toBe(before.rootfs.sha256);
    expect(after.manifest?.kernel.sha256).toBe(before.kernel.sha256);
    const inImage = execFileSync(
      findTool("debugfs") as string,
      ["-R", "cat /opt/pyro/pyro-agent.mjs", path.join(store.entryDir("debian:12"), "rootfs.ext4")],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    expect(inImage).toBe(fs.readFileSync(agentFiles().bundle, "utf8"));
    expect(fs.readdirSync(store.stagingDir)).toEqual([]);
  });

  it("names the package to install for a missing host tool", () => {
    expect(() => requireTools(["debootstrap", "no-such-tool-xyz"], "building x")).toThrow(
      /building x needs .*no-such-tool-xyz.*apt-get install/,
    );
    expect(() => requireTools(["mkfs.ext4-not-here"], "building x")).toThrow(
      "install with: apt-get install mkfs.ext4-not-here",
    );
  });
});
