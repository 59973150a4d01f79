/**
 * The file operations, patch apply and the stopped-disk operations in a real guest (one
 * boot shared by every check): the agent's file ops and patch in the guest's /workspace,
 * then the disk read without booting once the VM is down.
 *
 * The VM is stopped with workspace_stop, which keeps the disk as <workspace dir>/disk.qcow2.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { findTool } from "../src/environments/host-tools.js";
import { requireOperation } from "../src/operations/index.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();
const SECRET = "PYRO-TEST-SECRET-93b1e";

/**
 * Whether `needle` is anywhere in the data of a sparse file (4+ GB, mostly holes): only
 * the extents `qemu-img map` reports as data are read.
 */
function sparseFileIncludes(file: string, needle: string): boolean {
  const mapped = spawnSync(
    findTool("qemu-img") as string,
    ["map", "--output=json", "-f", "raw", file],
    {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const extents = JSON.parse(mapped.stdout) as Array<{
    start: number;
    length: number;
    data: boolean;
  }>;
  const fd = fs.openSync(file, "r");
  try {
    const chunk = Buffer.alloc(8 * 1024 * 1024);
    for (const extent of extents.filter((each) => each.data)) {
      for (let offset = extent.start; offset < extent.start + extent.length;) {
        // Overlap by the needle's length so a match across two reads is seen.
        const want = Math.min(chunk.length, extent.start + extent.length - offset + needle.length);
        const got = fs.readSync(fd, chunk, 0, want, offset);
        if (chunk.subarray(0, got).includes(needle)) return true;
        offset += Math.max(1, got - needle.length);
        if (got < want) break;
      }
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** A result has exactly the keys of its operation's (closed) output schema, with their types. */
function matchesOutputSchema(name: string, result: object): void {
  const output = requireOperation(name).output;
  expect(output.safeParse(result).success, name).toBe(true);
  expect(Object.keys(result).sort(), name).toEqual(Object.keys(output.shape).sort());
}

describe("file operations and the stopped disk in a real guest", () => {
  it(
    "writes, lists, reads and patches in the guest, then lists, reads and exports its disk without booting",
    { timeout: 300_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({});

      // --- file ops and patch in the running guest ---
      await pyro.writeWorkspaceFile(id, { path: "src/app.sh", text: "echo one\n", mode: "0755" });
      const binary = Buffer.from([0, 1, 2, 0xff]);
      await pyro.writeWorkspaceFile(id, {
        path: "data.bin",
        text: binary.toString("base64"),
        encoding: "base64",
      });
      const ran = await pyro.execWorkspace(id, {
        command:
          "ln -s /etc dirlink && ./src/app.sh && stat -c %a src/app.sh && od -An -tx1 data.bin",
      });
      expect(ran.stdout).toBe("one\n755\n 00 01 02 ff\n");
      const listing = await pyro.listWorkspaceFiles(id, { recursive: true });
      expect(listing.entries.map((entry) => `${entry.type} ${entry.path}`)).toEqual([
        "file /workspace/data.bin",
        "symlink /workspace/dirlink",
        "directory /workspace/src",
        "file /workspace/src/app.sh",
      ]);
      expect(listing.entries[1]?.link_target).toBe("/etc");
      const read = await pyro.readWorkspaceFile(id, { path: "data.bin" });
      expect(Buffer.from(read.content, "base64")).toEqual(binary);
      await expect(pyro.readWorkspaceFile(id, { path: "dirlink/hostname" })).rejects.toMatchObject({
        code: "invalid_argument",
        message: expect.stringContaining("'/workspace/dirlink' is a symlink"),
      });
      await expect(
        pyro.writeWorkspaceFile(id, { path: "dirlink/evil", text: "x" }),
      ).rejects.toMatchObject({ code: "invalid_argument" });
      const badPatch =
        "--- a/src/app.sh\n+++ b/src/app.sh\n@@ -1 +1 @@\n-echo one\n+echo two\n" +
        "--- a/data.bin\n+++ b/data.bin\n@@ -1 +1 @@\n-x\n+y\n";
      await expect(pyro.applyWorkspacePatch(id, { patch: badPatch })).rejects.toMatchObject({
        message: expect.stringContaining("/workspace/data.bin: it is not a text file"),
      });
      expect((await pyro.readWorkspaceFile(id, { path: "src/app.sh" })).content).toBe("echo one\n");
      const applied = await pyro.applyWorkspacePatch(id, {
        patch:
          "--- a/src/app.sh\n+++ b/src/app.sh\n@@ -1 +1 @@\n-echo one\n+echo two\n" +
          "--- /dev/null\n+++ b/docs/new.md\n@@ -0,0 +1 @@\n+# new\n",
      });
      expect(applied.summary).toMatchObject({ modified: 1, added: 1 });
      expect(
        (await pyro.execWorkspace(id, { command: "./src/app.sh; cat docs/new.md" })).stdout,
      ).toBe("two\n# new\n");

      // --- the disk ops refuse a running guest ---
      await expect(pyro.listWorkspaceDisk(id, {})).rejects.toMatchObject({
        code: "invalid_state",
        message: expect.stringContaining("must be stopped before workspace_disk_list"),
      });

      // A runtime-only path on the disk itself (under the tmpfs /run), for the scrub.
      const planted = await pyro.execWorkspace(id, {
        command: `mkdir -p /mnt/pyro-root && mount --bind / /mnt/pyro-root && mkdir -p /mnt/pyro-root/run/pyro-secrets && printf ${SECRET} > /mnt/pyro-root/run/pyro-secrets/token && umount /mnt/pyro-root && sync`,
      });
      expect(planted.exit_code, planted.stderr).toBe(0);
      await pyro.execWorkspace(id, { command: "sync" });
      await pyro.stopWorkspace(id);
      expect((await pyro.statusWorkspace(id)).state).toBe("stopped");
      const overlay = path.join(pyro.context.layout.workspaceDir(id), "disk.qcow2");
      const overlayBefore = fs.statSync(overlay);

      // --- the stopped disk, read without booting ---
      const disk = await pyro.listWorkspaceDisk(id, { recursive: true });
      expect(disk.entries.map((entry) => `${entry.type} ${entry.path}`)).toEqual([
        "file /workspace/data.bin",
        "symlink /workspace/dirlink",
        "directory /workspace/docs",
        "file /workspace/docs/new.md",
        "directory /workspace/src",
        "file /workspace/src/app.sh",
      ]);
      expect(disk.entries[1]?.link_target).toBe("/etc");
      expect(disk.entries[5]).toMatchObject({ mode: "0755", size_bytes: 9 });
      expect(disk.entries[5]?.mtime).toBeGreaterThan(Date.now() / 1000 - 600);
      matchesOutputSchema("workspace_disk_list", disk);
      const diskRead = await pyro.readWorkspaceDisk(id, { path: "src/app.sh" });
      matchesOutputSchema("workspace_disk_read", diskRead);
      expect(diskRead).toMatchObject({ content: "echo two\n", encoding: "utf8", truncated: false });
      const diskBinary = await pyro.readWorkspaceDisk(id, { path: "/workspace/data.bin" });
      expect(diskBinary.encoding).toBe("base64");
      expect(Buffer.from(diskBinary.content, "base64")).toEqual(binary);
      await expect(pyro.readWorkspaceDisk(id, { path: "dirlink/hostname" })).rejects.toMatchObject({
        code: "invalid_argument",
        message: expect.stringContaining("'/workspace/dirlink' is a symlink"),
      });
      await expect(pyro.readWorkspaceDisk(id, { path: "../etc/hostname" })).rejects.toMatchObject({
        message: expect.stringContaining("path must stay inside /workspace"),
      });
      const cliRead = spawnSync(
        process.execPath,
        [cliPath, "workspace", "disk", "read", id, "docs/new.md"],
        { env: { ...pyroEnv(state.stateDir()), PYRO_BACKEND: "qemu" }, encoding: "utf8" },
      );
      expect(cliRead.stderr).toBe("");
      expect(cliRead.stdout).toBe("# new\n");

      const output = path.join(state.base(), "workspace.ext4");
      const exported = await pyro.exportWorkspaceDisk(id, { output_path: output });
      matchesOutputSchema("workspace_disk_export", exported);
      expect(exported).toMatchObject({
        output_path: output,
        format: "raw",
        scrubbed_paths: ["/run/pyro-secrets"],
      });
      const debugfs = findTool("debugfs") as string;
      const inImage = spawnSync(debugfs, ["-R", "cat /workspace/src/app.sh", output], {
        encoding: "utf8",
      });
      expect(inImage.stdout).toBe("echo two\n");
      const scrubbed = spawnSync(debugfs, ["-R", "ls /run", output], { encoding: "utf8" });
      expect(scrubbed.stdout).not.toContain("pyro-secrets");
      expect(sparseFileIncludes(output, SECRET)).toBe(false);
      // The control: the disk itself does hold it (so the search above can find it).
      const unscrubbed = path.join(state.base(), "unscrubbed.raw");
      spawnSync(findTool("qemu-img") as string, [
        "convert",
        "-U",
        "-O",
        "raw",
        overlay,
        unscrubbed,
      ]);
      expect(sparseFileIncludes(unscrubbed, SECRET)).toBe(true);
      fs.rmSync(unscrubbed);
      await expect(pyro.exportWorkspaceDisk(id, { output_path: output })).rejects.toMatchObject({
        code: "already_exists",
      });
      // The workspace's own disk was only read.
      const overlayAfter = fs.statSync(overlay);
      expect([overlayAfter.size, overlayAfter.mtimeMs]).toEqual([
        overlayBefore.size,
        overlayBefore.mtimeMs,
      ]);
      expect(fs.readdirSync(path.join(pyro.context.layout.workspaceDir(id), "staging"))).toEqual(
        [],
      );

      await pyro.deleteWorkspace(id);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );
});
