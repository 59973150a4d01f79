// `pyro prepare` and `pyro doctor --environment` on the host backend (no guest is booted),
// with an empty private environment cache.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();

function pyro(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    env: {
      ...pyroEnv(state.stateDir()),
      PYRO_ENVIRONMENT_CACHE_DIR: path.join(state.base(), "cache"),
      ...env,
    },
  });
}

const recordFile = () => path.join(state.stateDir(), "prepare", "debian_12.json");
const workspaces = () => {
  const dir = path.join(state.stateDir(), "workspaces");
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

describe("pyro prepare and doctor --environment", () => {
  it("goes from cold to warm by proving the loop, then stale when the proof is outdated", () => {
    const cold = pyro(["doctor", "--environment", "debian:12", "--json"]);
    expect(cold.status, cold.stderr).toBe(0);
    expect(JSON.parse(cold.stdout)).toMatchObject({
      environment: "debian:12",
      readiness: "cold",
      backend: "host",
      cache_status: null,
      last_prepare: null,
    });

    // Without host_compat the loop cannot create its workspace: an error, nothing left.
    const refused = pyro(["prepare", "debian:12"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("error [guest_unavailable]");
    expect(fs.existsSync(recordFile())).toBe(false);

    const prepared = pyro(["prepare", "--allow-host-compat"]);
    expect(prepared.status, prepared.stderr).toBe(0);
    for (const step of ["create", "exec", "reset", "delete"])
      expect(prepared.stderr).toMatch(new RegExp(`pyro: ${step}\\s+\\d+\\.\\d\\d s`));
    expect(prepared.stderr).toContain("Linux"); // uname -sr, run in the loop
    expect(prepared.stdout).toMatch(
      /^debian:12 is warm on host \(host_compat\): create [\d.]+ s, exec [\d.]+ s, reset [\d.]+ s, delete [\d.]+ s, total [\d.]+ s\n$/,
    );
    expect(workspaces()).toEqual([]); // the throwaway workspace is gone

    const warm = JSON.parse(pyro(["doctor", "--environment", "debian:12", "--json"]).stdout) as {
      readiness: string;
      last_prepare: { timings_ms: Record<string, number> };
    };
    expect(warm.readiness).toBe("warm");
    expect(Object.keys(warm.last_prepare.timings_ms)).toEqual([
      "create",
      "exec",
      "reset",
      "delete",
      "total",
    ]);
    expect(pyro(["doctor", "--environment", "debian:12"]).stdout).toMatch(
      /^debian:12 warm: prepared \S+ by this pyro on host\n$/,
    );

    const record = JSON.parse(fs.readFileSync(recordFile(), "utf8")) as Record<string, unknown>;
    fs.writeFileSync(recordFile(), JSON.stringify({ ...record, pyro_version: "0.0.1" }));
    expect(pyro(["doctor", "--environment", "debian:12"]).stdout).toContain(
      "debian:12 stale: last prepared by pyro 0.0.1",
    );
    const weekAgo = (record.prepared_at as number) - 8 * 86_400;
    fs.writeFileSync(recordFile(), JSON.stringify({ ...record, prepared_at: weekAgo }));
    expect(pyro(["doctor", "--environment", "debian:12"]).stdout).toContain(
      "debian:12 stale: last prepared 8 days ago",
    );
  });

  it("reports an environment a guest backend needs but the cache lacks as cold", () => {
    const result = pyro(["doctor", "--environment", "debian:12-base", "--json"], {
      PYRO_BACKEND: "qemu",
    });
    expect(JSON.parse(result.stdout)).toMatchObject({
      readiness: "cold",
      backend: "qemu",
      cache_status: "missing",
      reason: "debian:12-base is not in the cache (pyro prepare debian:12-base)",
    });
  });

  it("refuses an unknown environment in both", () => {
    for (const args of [
      ["prepare", "ubuntu:24", "--allow-host-compat"],
      ["doctor", "--environment", "ubuntu:24"],
    ]) {
      const result = pyro(args);
      expect(result.status, args.join(" ")).toBe(1);
      expect(result.stderr).toContain(
        "error [invalid_argument]: environment must be one of debian:12, debian:12-base, debian:12-build, got 'ubuntu:24'",
      );
    }
    expect(workspaces()).toEqual([]);
  });
});
