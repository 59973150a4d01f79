/**
 * The transfer disk on a real guest, sharing one boot: pushes and exports go through it
 * (not the virtio-serial port) and arrive byte for byte; the guest's own symlinks are still
 * refused as write paths; two transfers at once both land (the second takes the port); and a
 * host killed in the middle of a transfer leaves the guest's tree as it was, nothing staged
 * in the guest, and a disk the next transfer takes over and empties again.
 * Skipped where qemu or debian:12 is missing.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { AgentClient } from "../src/protocol/client.js";
import { qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Allocated bytes of a (sparse) file. */
function allocated(file: string): number {
  return fs.statSync(file).blocks * 512;
}

describe("qemu transfer disk", () => {
  const state = useTempState();

  it(
    "moves pushes and exports through the transfer disk exactly, and survives a host killed mid-transfer",
    { timeout: 900_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({ ttl_seconds: 3600 });
      const exec = async (command: string): Promise<string> =>
        (await pyro.execWorkspace(id, { command, timeout_seconds: 300 })).stdout.trim();
      const runtimeDir = path.join(state.stateDir(), "workspaces", id, "runtime");
      const disk = path.join(runtimeDir, "transfer.img");
      const lock = path.join(runtimeDir, "transfer.lock");

      // The agent serves the disk operations, so the host uses them.
      const record = JSON.parse(
        fs.readFileSync(path.join(state.stateDir(), "workspaces", id, "workspace.json"), "utf8"),
      ) as { runtime: { socket_path: string } };
      const { client, hello } = await AgentClient.connect(record.runtime.socket_path);
      client.close();
      expect(hello.capabilities).toEqual(
        expect.arrayContaining(["archive.import_disk", "archive.export_disk"]),
      );

      // Integrity: a tree with an incompressible file, an empty file, a symlink and modes.
      const source = path.join(state.base(), "tree");
      fs.mkdirSync(path.join(source, "sub", "deeper"), { recursive: true });
      const blob = randomBytes(24 * 1024 * 1024 + 123);
      fs.writeFileSync(path.join(source, "sub", "blob.bin"), blob);
      fs.writeFileSync(path.join(source, "sub", "deeper", "empty"), "");
      fs.writeFileSync(path.join(source, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
      fs.symlinkSync("sub/blob.bin", path.join(source, "link"));
      await pyro.pushWorkspaceSync(id, { source_path: source, dest: "/workspace/tree" });
      expect(await exec("sha256sum < /workspace/tree/sub/blob.bin")).toBe(`${sha256(blob)}  -`);
      expect(
        await exec(
          "cd /workspace/tree && stat -c '%a %s' run.sh sub/deeper/empty && readlink link && ./run.sh",
        ),
      ).toBe("755 18\n644 0\nsub/blob.bin\nhi");
      // The disk holds no host space once the transfer is over, and no lock is left.
      expect(allocated(disk)).toBe(0);
      expect(fs.existsSync(lock)).toBe(false);

      // An export of a file the guest wrote, byte for byte.
      await exec("head -c 5000001 /dev/urandom > /workspace/made.bin");
      const guestDigest = (await exec("sha256sum < /workspace/made.bin")).split(" ")[0];
      const exported = path.join(state.base(), "made.bin");
      await pyro.exportWorkspace(id, { path: "made.bin", output_path: exported });
      expect(sha256(fs.readFileSync(exported))).toBe(guestDigest);
      expect(allocated(disk)).toBe(0);
      // A directory export is extracted straight from the disk: the same tree, modes and
      // link, and no staging copy or canonical temp left beside the disk.
      const tree = path.join(state.base(), "tree-out");
      await pyro.exportWorkspace(id, { path: "tree", output_path: tree });
      expect(sha256(fs.readFileSync(path.join(tree, "sub", "blob.bin")))).toBe(sha256(blob));
      expect(fs.readlinkSync(path.join(tree, "link"))).toBe("sub/blob.bin");
      expect(fs.statSync(path.join(tree, "run.sh")).mode & 0o777).toBe(0o755);
      expect(fs.readdirSync(runtimeDir).filter((name) => name.includes("pyro-"))).toEqual([]);
      expect(allocated(disk)).toBe(0);

      // The guest's own symlinks are still never written through.
      await exec("ln -s /etc /workspace/evil");
      const hostile = path.join(state.base(), "hostile");
      fs.mkdirSync(path.join(hostile, "evil"), { recursive: true });
      fs.writeFileSync(path.join(hostile, "evil", "pyro-owned"), "x");
      await expect(pyro.pushWorkspaceSync(id, { source_path: hostile })).rejects.toMatchObject({
        code: "unsafe_archive",
      });
      expect(await exec("test -e /etc/pyro-owned && echo written || echo absent")).toBe("absent");

      // Two transfers at once: one takes the disk, the other the port; both land.
      const one = path.join(state.base(), "one");
      const two = path.join(state.base(), "two");
      fs.mkdirSync(one);
      fs.mkdirSync(two);
      fs.writeFileSync(path.join(one, "a.bin"), randomBytes(3 * 1024 * 1024));
      fs.writeFileSync(path.join(two, "b.bin"), randomBytes(1024 * 1024));
      await Promise.all([
        pyro.pushWorkspaceSync(id, { source_path: one, dest: "/workspace/one" }),
        pyro.pushWorkspaceSync(id, { source_path: two, dest: "/workspace/two" }),
      ]);
      expect(await exec("sha256sum < /workspace/one/a.bin; sha256sum < /workspace/two/b.bin")).toBe(
        [
          `${sha256(fs.readFileSync(path.join(one, "a.bin")))}  -`,
          `${sha256(fs.readFileSync(path.join(two, "b.bin")))}  -`,
        ].join("\n"),
      );

      // A host process killed while it fills the disk: the guest keeps its old file, nothing
      // is staged in the guest, and the next transfer takes the dead process's lock over.
      await exec("mkdir -p /workspace/big && echo old > /workspace/big/blob.bin");
      const big = path.join(state.base(), "big");
      fs.mkdirSync(big);
      fs.writeFileSync(path.join(big, "blob.bin"), randomBytes(160 * 1024 * 1024));
      const child = spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `const { Manager } = await import(${JSON.stringify(path.join(ROOT, "dist", "runtime.js"))});
           const m = new Manager({ baseDir: ${JSON.stringify(state.stateDir())}, backend: "qemu" });
           await m.pushWorkspaceSync(${JSON.stringify(id)}, { source_path: ${JSON.stringify(big)}, dest: "/workspace/big" });`,
        ],
        { stdio: "ignore" },
      );
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const deadline = Date.now() + 120_000;
      while (!fs.existsSync(lock) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      expect(fs.existsSync(lock)).toBe(true);
      child.kill("SIGKILL");
      await exited;
      expect(await exec("cat /workspace/big/blob.bin")).toBe("old");
      expect(await exec("ls -A /var/lib/pyro-agent/scratch | grep -c tmp- || true")).toBe("0");
      await pyro.pushWorkspaceSync(id, { source_path: two, dest: "/workspace/after" });
      expect(fs.existsSync(lock)).toBe(false);
      expect(allocated(disk)).toBe(0);
      expect(await exec("sha256sum < /workspace/after/b.bin")).toBe(
        `${sha256(fs.readFileSync(path.join(two, "b.bin")))}  -`,
      );

      // A lock file an older pyro left (its writer killed between creating and filling it)
      // blocks the disk only while young: an old one is taken over.
      fs.writeFileSync(lock, "");
      const past = new Date(Date.now() - 60_000);
      fs.utimesSync(lock, past, past);
      await pyro.pushWorkspaceSync(id, { source_path: two, dest: "/workspace/again" });
      expect(fs.existsSync(lock)).toBe(false);
      expect(
        fs.readdirSync(path.dirname(lock)).filter((name) => name.startsWith(path.basename(lock))),
      ).toEqual([]);
      expect(await exec("sha256sum < /workspace/again/b.bin")).toBe(
        `${sha256(fs.readFileSync(path.join(two, "b.bin")))}  -`,
      );
    },
  );
});
