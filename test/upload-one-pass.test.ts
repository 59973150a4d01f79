/**
 * An upload is parsed once on the host (issue 10): the pass that validates a pushed or
 * seeded archive against the safety rules and the quotas is the one that writes what is
 * sent, so pyro's own process reads a pushed archive once to check it and once to send it
 * (the host backend's agent, another process, validates what it extracts). Measured as the bytes
 * this process reads (/proc/self/io `rchar`): the managers here run in it.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { c as createTar } from "tar";
import { describe, expect, it } from "vitest";

import { gnuTar } from "../src/archive/gnu-tar.js";
import { useTempState } from "./helpers.js";

const state = useTempState();
const MIB = 1024 * 1024;

function bytesRead(): number {
  const io = fs.readFileSync("/proc/self/io", "utf8");
  return Number(/^rchar:\s+(\d+)/m.exec(io)?.[1]);
}

/** A plain tar holding `size` incompressible bytes; its path and size. */
async function bigTar(name: string, size: number): Promise<{ file: string; size: number }> {
  const dir = path.join(state.base(), `${name}-tree`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "blob.bin"), randomBytes(size));
  const file = path.join(state.base(), `${name}.tar`);
  await createTar({ file, cwd: dir, portable: true }, ["blob.bin"]);
  return { file, size: fs.statSync(file).size };
}

describe("uploads on the host", () => {
  it("read a pushed archive once to validate it and once to send it; a seed once more, before the boot", async () => {
    const manager = state.manager({ backend: "host" });
    const { workspace_id: id } = await manager.createWorkspace({ allow_host_compat: true });
    const pushed = await bigTar("push", 24 * MIB);
    let before = bytesRead();
    await manager.pushWorkspaceSync(id, { source_path: pushed.file, dest: "/workspace/in" });
    const pushRead = bytesRead() - before;
    expect(pushRead).toBeGreaterThan(1.9 * pushed.size);
    expect(pushRead).toBeLessThan(2.5 * pushed.size);
    const landed = await manager.execWorkspace(id, { command: "stat -c %s in/blob.bin" });
    expect(landed.stdout.trim()).toBe(String(24 * MIB));

    // A seed is validated before the sandbox boots (a bad one costs nothing), then by the
    // pass that writes the canonical copy as it is sent; the baseline manifest reads the
    // kept copy (where GNU tar extracts: the copy is what landed). Three reads, not four.
    if (gnuTar()) {
      const seed = await bigTar("seed", 24 * MIB);
      before = bytesRead();
      const seeded = await manager.createWorkspace({
        allow_host_compat: true,
        seed_path: seed.file,
      });
      const seedRead = bytesRead() - before;
      expect(seedRead).toBeGreaterThan(2.9 * seed.size);
      expect(seedRead).toBeLessThan(3.5 * seed.size);
      expect(seeded.workspace_seed).toMatchObject({ entry_count: 1, bytes_written: 24 * MIB });
    }
  }, 60_000);
});
