/**
 * `sudo pyro env pull` leaves a cache its invoking user can use: the default cache is theirs
 * (not root's HOME) and every entry, lock and download is chowned to SUDO_UID:SUDO_GID, with
 * the root-created directories above it up to their home. Driven with sudo's variables on a
 * real cache (the pull itself is the real CLI on a valid small entry); the chown checks need
 * root, which CI and guest-setup have.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { EnvironmentStore } from "../src/environments/store.js";
import { handOver, sudoInvoker } from "../src/store/invoking-user.js";
import { defaultEnvironmentCacheDir } from "../src/store/layout.js";
import { makeEntry } from "./environment-entry.js";
import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();
const isRoot = process.getuid?.() === 0;
/** `nobody`: a real password entry that no test process runs as. */
const NOBODY = 65534;

function ownersUnder(dir: string): Map<string, number> {
  const owners = new Map<string, number>();
  const walk = (target: string): void => {
    const stat = fs.lstatSync(target);
    owners.set(path.relative(dir, target) || ".", stat.uid);
    if (stat.isDirectory())
      for (const name of fs.readdirSync(target)) walk(path.join(target, name));
  };
  walk(dir);
  return owners;
}

describe("the invoking user of sudo", () => {
  it("is read from SUDO_UID/SUDO_GID only when this process is root", () => {
    const sudo = { SUDO_UID: String(NOBODY), SUDO_GID: String(NOBODY), SUDO_USER: "nobody" };
    expect(sudoInvoker(sudo, 0)).toEqual({ uid: NOBODY, gid: NOBODY, home: "/nonexistent" });
    expect(sudoInvoker(sudo, 1000)).toBeNull();
    expect(sudoInvoker({}, 0)).toBeNull();
    expect(sudoInvoker({ SUDO_UID: "0", SUDO_GID: "0" }, 0)).toBeNull();
    expect(sudoInvoker({ SUDO_UID: "12x", SUDO_GID: "1" }, 0)).toBeNull();
  });

  it("owns the default cache: theirs, not root's HOME", () => {
    const invoker = { uid: NOBODY, gid: NOBODY, home: "/home/ada" };
    expect(defaultEnvironmentCacheDir({}, invoker)).toBe("/home/ada/.cache/pyro-mcp/environments");
    expect(defaultEnvironmentCacheDir({ PYRO_ENVIRONMENT_CACHE_DIR: "/srv/c" }, invoker)).toBe(
      "/srv/c",
    );
  });

  it.skipIf(!isRoot)(
    "gets the cache and the root-made directories up to their home, nothing else",
    async () => {
      const home = path.join(state.base(), "home");
      const cache = path.join(home, ".cache", "pyro-mcp", "environments");
      const outside = path.join(state.base(), "outside.txt");
      fs.mkdirSync(path.join(cache, "debian-12"), { recursive: true });
      fs.writeFileSync(path.join(cache, "debian-12", "rootfs.ext4"), "image");
      fs.writeFileSync(outside, "not theirs");
      fs.symlinkSync(outside, path.join(cache, "debian-12", "link"));

      await handOver(cache, { uid: NOBODY, gid: NOBODY, home });
      const owners = ownersUnder(home);
      expect(owners.get(".")).toBe(0); // their home itself is not ours to change
      for (const [file, uid] of owners)
        if (file !== ".") expect([file, uid]).toEqual([file, NOBODY]);
      expect(fs.statSync(outside).uid).toBe(0); // the symlink was changed, not its target
    },
  );

  it.skipIf(!isRoot)("`sudo pyro env pull` hands the cache entry to SUDO_UID", async () => {
    const cache = path.join(state.base(), "cache");
    await makeEntry(new EnvironmentStore(cache), state.base());
    const result = spawnSync(process.execPath, [cliPath, "env", "pull", "debian:12", "--json"], {
      encoding: "utf8",
      env: {
        ...pyroEnv(state.stateDir()),
        PYRO_ENVIRONMENT_CACHE_DIR: cache,
        SUDO_USER: "nobody",
        SUDO_UID: String(NOBODY),
        SUDO_GID: String(NOBODY),
      },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ action: "cached" });
    const owners = ownersUnder(cache);
    expect(owners.get("debian-12/rootfs.ext4")).toBe(NOBODY);
    expect(owners.get(".locks")).toBe(NOBODY);
    expect([...owners.values()].every((uid) => uid === NOBODY)).toBe(true);
  });
});
