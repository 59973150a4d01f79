/**
 * Hostile load on a real guest, sharing one boot: a fork bomb must not outlast its exec's
 * timeout nor wedge the agent, an exec's background jobs must not outlive it, and a
 * transfer larger than the guest's memory (and so its /run tmpfs, where transfers used to be
 * staged) must go in and come out whole. Skipped where qemu or debian:12 is missing.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";

const GUEST_MEM_MIB = 256;
/**
 * More than the guest's memory, so more than its /run tmpfs (about 109 MiB) where old agents
 * staged uploads and exports and failed with ENOSPC. Through the transfer disk, about 10 s
 * each way under TCG (it took minutes through the virtio-serial port).
 */
const TRANSFER_MIB = 280;

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

describe("qemu guest under hostile load", () => {
  const state = useTempState();

  it(
    "bounds a fork bomb by its timeout, kills background jobs and moves a transfer larger than its memory",
    { timeout: 1_200_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = state.manager({ backend: "qemu" });
      const { workspace_id: id } = await pyro.createWorkspace({
        mem_mib: GUEST_MEM_MIB,
        ttl_seconds: 3600,
      });
      const exec = (command: string, timeout_seconds = 60) =>
        pyro.execWorkspace(id, { command, timeout_seconds });

      // The classic bomb, kept in the foreground so only the timeout can end the exec.
      const started = Date.now();
      const bomb = await exec("bash -c ':(){ :|:& };:; sleep 120'", 5);
      const elapsed = Date.now() - started;
      expect(bomb.timed_out).toBe(true);
      expect(bomb.exit_code).toBe(124);
      console.log(`fork bomb with timeout_seconds 5 returned after ${elapsed} ms`);
      expect(elapsed).toBeLessThan(25_000);
      // The agent still answers, and nothing of the bomb is left: its processes are gone at
      // once; its cgroup (under TCG the kernel can take a few seconds more to release it
      // after the last kill) goes within 30 s, without another exec having to ask.
      const after = await exec("echo alive; ps -eo comm= | grep -c '^bash$' || true");
      expect(after.stdout.trim().split("\n")).toEqual(["alive", "0"]);
      const cgroupsDeadline = Date.now() + 30_000;
      let execCgroups: string;
      do {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        // This exec's own cgroup is the one expected.
        execCgroups = (await exec("ls /sys/fs/cgroup/pyro-user | grep -c '^exec-'")).stdout.trim();
      } while (execCgroups !== "1" && Date.now() < cgroupsDeadline);
      expect(execCgroups).toBe("1");

      // Background jobs (one in its own session) do not outlive the exec that started them.
      await exec("sleep 300 > /dev/null 2>&1 & setsid sleep 301 > /dev/null 2>&1 & echo started");
      const leftovers = await exec("ps -eo args= | grep -c '^sleep 30[01]$' || true");
      expect(leftovers.stdout.trim()).toBe("0");

      // A push larger than /run, then a snapshot and an export of it.
      const run = await exec("df -m --output=size /run | tail -1");
      expect(Number(run.stdout.trim())).toBeLessThan(TRANSFER_MIB);
      const source = path.join(state.base(), "big");
      fs.mkdirSync(source);
      const blob = path.join(source, "blob.bin");
      execFileSync("head", ["-c", `${TRANSFER_MIB}M`, "/dev/urandom"], {
        stdio: ["ignore", fs.openSync(blob, "w"), "inherit"],
      });
      const timings: Record<string, number> = {};
      const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
        const begin = Date.now();
        try {
          return await work();
        } finally {
          timings[label] = Date.now() - begin;
        }
      };
      await timed("push", () => pyro.pushWorkspaceSync(id, { source_path: source }));
      const big = await timed("snapshot", () => pyro.createSnapshot(id, "big"));
      const exported = path.join(state.base(), "exported.bin");
      await timed("export", () =>
        pyro.exportWorkspace(id, { path: "blob.bin", output_path: exported }),
      );
      console.log(`transfer of ${TRANSFER_MIB} MiB (ms): ${JSON.stringify(timings)}`);
      expect(sha256(exported)).toBe(sha256(blob));
      // A tar, or (/workspace on a volume) the layer sealed for it: either holds the blob.
      expect(big.snapshot.size_bytes).toBeGreaterThan(TRANSFER_MIB * 1024 * 1024);
      // Nothing staged is left in the guest.
      const scratch = await exec(
        "ls -A /var/lib/pyro-agent/scratch /run/pyro-agent | grep -c tmp- || true",
      );
      expect(scratch.stdout.trim()).toBe("0");
    },
  );
});
