/**
 * The manager's agent pool (src/core/agent-pool.ts) on the host backend, real agent: a
 * pooled connection that has ended (a qemu guest's idle suspend closes every client's) is
 * replaced before a call is sent on it, including an upload, which cannot be retried.
 */
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { loadWorkspace } from "../src/core/records-io.js";
import { useTempState } from "./helpers.js";

const state = useTempState();

describe("agent pool", () => {
  it("replaces an ended connection before sending an upload on it", async () => {
    const manager = state.manager();
    const { workspace_id: id } = await manager.createWorkspace({ allow_host_compat: true });
    await manager.execWorkspace(id, { command: "true" });
    const record = await loadWorkspace(manager.context.layout, id);
    if (!record.runtime) throw new Error("workspace has no runtime");
    const pooled = await manager.context.pool.get(record.runtime);
    pooled.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pooled.closed).toBe(true);

    const source = fs.mkdtempSync(path.join(state.base(), "push-"));
    fs.writeFileSync(path.join(source, "pushed.txt"), "pushed\n");
    await manager.pushWorkspaceSync(id, { source_path: source });
    const read = await manager.execWorkspace(id, { command: "cat pushed.txt" });
    expect(read.stdout).toBe("pushed\n");
    expect(await manager.context.pool.get(record.runtime)).not.toBe(pooled);
  });
});
