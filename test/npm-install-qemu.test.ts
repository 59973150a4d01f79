/**
 * docs/networking.md's example, on a real guest: `npm install` from a registry stand-in on
 * 127.0.0.1 of the host (test/npm-registry.ts), reached as `host.pyro.internal:PORT` through a
 * workspace with `network_policy: egress` that allows only that port. The package lands in
 * /workspace/node_modules; a registry not on the allow list fails the install, and the
 * refusal is in the network log. Nothing leaves this machine, not even a DNS query: the
 * proxy maps host.pyro.internal to loopback and refuses other names before any lookup.
 * Needs debian:12-build (the environment with npm); skipped where qemu or it is missing,
 * required in CI (scripts/guest-setup.sh pulls it).
 */
import { describe, expect, it } from "vitest";

import { qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";
import { DEMO_PACKAGE, DEMO_VERSION, startLocalRegistry } from "./npm-registry.js";

/** npm without the calls a local registry does not serve, failing at once instead of retrying. */
const NPM_FLAGS = "--no-audit --no-fund --no-update-notifier --fetch-retries=0";

describe("qemu: npm install from a local registry", () => {
  const state = useTempState();

  it(
    "installs a package from host.pyro.internal under egress; a registry off the allow list is refused and logged",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason("debian:12-build");
      if (reason && process.env.CI) throw new Error(`required in CI: ${reason}`);
      if (reason) skip(reason);
      const registry = await startLocalRegistry(state.base());
      try {
        const pyro = state.manager({ backend: "qemu" });
        const { workspace_id: id } = await pyro.createWorkspace({
          environment: "debian:12-build",
          ttl_seconds: 3600,
          network_policy: "egress",
          allow_hosts: [`host.pyro.internal:${registry.port}`],
        });
        const exec = (command: string) => pyro.execWorkspace(id, { command, timeout_seconds: 300 });

        const installed = await exec(
          `npm install --registry http://host.pyro.internal:${registry.port}/ ${NPM_FLAGS} ${DEMO_PACKAGE} 2>&1`,
        );
        expect(installed.stdout).toContain("added 1 package");
        expect(installed.exit_code).toBe(0);
        expect(registry.requests).toEqual(
          expect.arrayContaining([
            `/${DEMO_PACKAGE}`,
            `/${DEMO_PACKAGE}/-/${DEMO_PACKAGE}-${DEMO_VERSION}.tgz`,
          ]),
        );
        const used = await exec(
          `cat node_modules/${DEMO_PACKAGE}/package.json; node -p 'require("${DEMO_PACKAGE}")("7", 3)'; node -p 'require("./package.json").dependencies'`,
        );
        expect(used.stdout).toContain(`"version": "${DEMO_VERSION}"`);
        expect(used.stdout).toContain("007");
        expect(used.stdout).toContain(`'${DEMO_PACKAGE}': '^${DEMO_VERSION}'`);

        // A registry whose name no rule allows: npm fails with the proxy's 403, and the
        // network log says which host and why.
        const refused = await exec(
          `npm install --registry http://registry.not-allowed.test/ ${NPM_FLAGS} left-pad 2>&1`,
        );
        expect(refused.exit_code).not.toBe(0);
        expect(refused.stdout).toContain("403");
        const log = await pyro.networkLogWorkspace(id);
        expect(log.entries).toEqual([
          expect.objectContaining({
            host: "registry.not-allowed.test",
            port: 80,
            action: "refused",
            reason: expect.stringContaining("not on the allow list") as unknown,
          }),
        ]);
      } finally {
        await registry.close();
      }
    },
  );
});
