/**
 * Workspace secrets in a real guest (docs/secrets.md), on one workspace: the agent writes
 * them as 0400 files in a 0700 /run/pyro-secrets on the guest's tmpfs, secret_env hands one
 * to a command whose output comes back redacted (also printed one character at a time and
 * streamed), nothing under the workspace's state dir holds a value, and a reset (a new
 * boot) writes them again. Skipped where qemu or debian:12 is missing.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";

const TOKEN = "guest-tok-58c2e19a-secret";

/**
 * The files under `dir` whose bytes hold `text`. Files with no allocated blocks hold only
 * zeros and are skipped: the transfer disk is an 8.25 GiB sparse file, which a plain
 * `grep -ra` read as one 8 GiB line (minutes and gigabytes of memory). `-z` makes NUL a line
 * end for the rest, so runs of zeros in the disk images never grow grep's buffer either.
 */
function filesHolding(dir: string, text: string): string[] {
  const files = (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((name) => path.join(dir, name))
    .filter((file) => {
      const stat = fs.lstatSync(file);
      return stat.isFile() && stat.blocks > 0;
    });
  const grep = spawnSync("grep", ["-laFz", text, ...files], { encoding: "utf8" });
  return grep.stdout.split("\n").filter(Boolean);
}

describe("secrets in a qemu guest", () => {
  const state = useTempState();

  it(
    "materialises /run/pyro-secrets, passes secret_env, redacts output and survives a reset",
    { timeout: 900_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({
        ttl_seconds: 3600,
        secrets: [{ name: "API_TOKEN", value: TOKEN }],
      });
      const files = async () =>
        (
          await pyro.execWorkspace(id, {
            command:
              'echo "$PYRO_SECRETS_DIR"; stat -f -c %T /run/pyro-secrets; stat -c "%a %U %n" /run/pyro-secrets /run/pyro-secrets/*; cat /run/pyro-secrets/API_TOKEN',
          })
        ).stdout;
      const expected = [
        "/run/pyro-secrets",
        "tmpfs",
        "700 root /run/pyro-secrets",
        "400 root /run/pyro-secrets/API_TOKEN",
        "[REDACTED:API_TOKEN]",
      ].join("\n");
      expect((await files()).trim()).toBe(expected);

      const chunks: Buffer[] = [];
      const printed = await pyro.execWorkspace(
        id,
        {
          command: `echo "env: $T"; printf %s "$T" | base64; v="$T"; while [ -n "$v" ]; do c="\${v%"\${v#?}"}"; printf %s "$c"; v="\${v#?}"; sleep 0.01; done; echo`,
          secret_env: { T: "API_TOKEN" },
        },
        { onOutput: (_stream, chunk) => chunks.push(chunk) },
      );
      const redacted = "env: [REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n";
      expect(printed.stdout).toBe(redacted);
      expect(Buffer.concat(chunks).toString()).toBe(redacted);

      // Only the host's copy holds the value; the guest's is on its tmpfs, not its disk.
      const dir = path.join(state.stateDir(), "workspaces", id);
      expect(filesHolding(dir, TOKEN)).toEqual([path.join(dir, "secrets", "values.json")]);

      await pyro.resetWorkspace(id);
      expect((await files()).trim()).toBe(expected);
      await pyro.deleteWorkspace(id);
    },
  );
});
