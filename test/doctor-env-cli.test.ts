/** `pyro doctor` and `pyro env`, as real CLI processes on a scratch environment cache. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { probeKvm } from "../src/backends/qemu/detect.js";
import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();

function pyro(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    env: {
      ...pyroEnv(state.stateDir()),
      PYRO_BACKEND: "auto",
      PYRO_ENVIRONMENT_CACHE_DIR: path.join(state.base(), "cache"),
    },
  });
}

describe("pyro doctor and pyro env", () => {
  it("doctor reports KVM, qemu, backends and why, the default and the capabilities", () => {
    const result = pyro("doctor", "--json");
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as {
      kvm: { exists: boolean; pvm: boolean; usable_for_guests: boolean; reason: string };
      backends: Array<{ name: string; usable: boolean; reason: string }>;
      default_backend: { name: string; reason: string };
      capabilities: { vm_boot: boolean; guest_exec: boolean; guest_network: boolean };
      environment_cache: { path: string; environments: Array<{ name: string; status: string }> };
      private_discard: { available: boolean; detail: string };
    };
    // The same verdict the backend itself reaches on this host.
    expect(report.kvm).toMatchObject(probeKvm());
    expect(report.backends.map((backend) => backend.name)).toEqual(["qemu", "firecracker", "host"]);
    // An empty cache: no environment can boot, so auto falls back to host and says why.
    expect(report.default_backend.name).toBe("host");
    expect(report.default_backend.reason).toMatch(/not pulled|not installed/);
    expect(report.capabilities.vm_boot).toBe(false);
    expect(report.environment_cache.path).toBe(path.join(state.base(), "cache"));
    expect(report.environment_cache.environments.map((entry) => entry.status)).toEqual([
      "missing",
      "missing",
      "missing",
    ]);

    // Not built yet in this cache: the first restore builds it with the host's compiler.
    expect(report.private_discard).toEqual({
      available: true,
      detail: expect.stringMatching(/^built with \S+ by the first restore$/),
    });
    expect(fs.existsSync(path.join(state.base(), "cache", "native"))).toBe(false);

    const human = pyro("doctor");
    expect(human.status).toBe(0);
    expect(human.stdout).toContain("memory return   restored guests give freed memory back");
    expect(human.stdout).toContain("ordinary guests:");
    expect(human.stdout).toContain("capabilities    vm_boot no");
  });

  it("env list, inspect and prune work on an empty cache; bad names fail with the rule", () => {
    const listed = JSON.parse(pyro("env", "list", "--json").stdout) as {
      environments: Array<{ name: string; installed: boolean; reason: string }>;
    };
    expect(listed.environments.map((entry) => [entry.name, entry.installed])).toEqual([
      ["debian:12", false],
      ["debian:12-base", false],
      ["debian:12-build", false],
    ]);
    const inspected = JSON.parse(pyro("env", "inspect", "debian:12-base", "--json").stdout) as {
      status: string;
    };
    expect(inspected.status).toBe("missing");
    const bad = pyro("env", "inspect", "debian:13");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(
      "environment must be one of debian:12, debian:12-base, debian:12-build, got 'debian:13'",
    );
    const pruned = JSON.parse(pyro("env", "prune", "--json").stdout) as { removed: string[] };
    expect(pruned.removed).toEqual([]);
    expect(pyro("env", "--help").stdout).toContain("Example");
  });
});
