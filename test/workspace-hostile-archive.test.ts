/**
 * Workspace-level regressions for hostile archives on the host backend, whose agent
 * extracts onto the host's filesystem: with `/workspace/evil` pointing outside (made by a
 * command in the workspace), a crafted push writes nothing outside, and no pushed or
 * seeded file keeps a setuid or setgid bit.
 */
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { useTempState } from "./helpers.js";
import { paxBody, rawBlocks } from "./hostile-tar.js";

const state = useTempState();

describe("hostile archives pushed into a host workspace", () => {
  it("writes nothing outside /workspace through a symlink a command made", async () => {
    const manager = state.manager({ backend: "host" });
    const outside = path.join(state.base(), "outside");
    fs.mkdirSync(outside);
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const made = await manager.execWorkspace(workspace_id, {
      command: `ln -s '${outside}' evil`,
      timeout_seconds: 30,
    });
    expect(made.exit_code).toBe(0);

    const archives: [string, Buffer][] = [
      [
        "global-path.tar",
        rawBlocks([
          { name: "pax_global_header", type: "g", body: paxBody({ path: "evil/pwned" }) },
          { name: "a.txt", body: "pwned" },
        ]),
      ],
      [
        "sparse-name.tar",
        rawBlocks([
          { name: "PaxHeader/a", type: "x", body: paxBody({ "GNU.sparse.name": "evil/pwned" }) },
          { name: "a.txt", body: "pwned" },
        ]),
      ],
      [
        "ustar-prefix.tar",
        rawBlocks([
          {
            name: "pwned",
            body: "pwned",
            magic: Buffer.from("ustar\0xx", "binary"),
            prefix: "evil",
          },
        ]),
      ],
      ["dir-over-link.tar", rawBlocks([{ name: "evil/", type: "5", mode: 0o777 }])],
    ];
    for (const [name, data] of archives) {
      const archive = path.join(state.base(), name);
      fs.writeFileSync(archive, data);
      await expect(
        manager.pushWorkspaceSync(workspace_id, { source_path: archive }),
        name,
      ).rejects.toMatchObject({ code: "unsafe_archive" });
      expect(fs.readdirSync(outside), name).toEqual([]);
      expect(fs.statSync(outside).mode & 0o777, name).toBe(0o755);
    }
  });

  it("strips setuid and setgid bits from seeded and pushed files", async () => {
    const manager = state.manager({ backend: "host" });
    const seed = path.join(state.base(), "seed.tar");
    fs.writeFileSync(seed, rawBlocks([{ name: "seeded", body: "x", mode: 0o4755 }]));
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seed,
    });
    const push = path.join(state.base(), "push.tar");
    fs.writeFileSync(
      push,
      rawBlocks([
        { name: "pushed", body: "x", mode: 0o2755 },
        { name: "shared/", type: "5", mode: 0o2775 },
      ]),
    );
    await manager.pushWorkspaceSync(workspace_id, { source_path: push });
    const result = await manager.execWorkspace(workspace_id, {
      command: "stat -c '%n %a' seeded pushed shared",
      timeout_seconds: 30,
    });
    expect(result.stdout.trim().split("\n")).toEqual(["seeded 755", "pushed 755", "shared 775"]);
  });
});
