/**
 * `guest.refresh`: what makes a guest restored from a booted-guest template a fresh
 * sandbox (docs/qemu-backend.md, "Templates"). Every guest restored from one template
 * starts with the same memory: the kernel RNG's state, the clock, the hostname and this
 * agent's identity are the template's. The VM supervisor sends this request first, before
 * any client can reach the guest, with entropy from the host's CSPRNG.
 */
import fs from "node:fs";

import { ValidationError } from "../errors.js";
import { syncClock } from "./clock.js";
import type { AgentContext } from "./context.js";
import { sysHelper } from "./sys-helper.js";

/** The agent's identity, named in its hello; a restore gives it a new one. */
export const agentIdentity = { instanceId: "", restoredAt: null as number | null };

/**
 * Credits the entropy to the kernel's input pool and forces the CRNG to reseed from it.
 * Writing to /dev/urandom alone mixes the bytes in but does not reseed the CRNG: without
 * the reseed, two restored guests read the same /dev/urandom bytes until the kernel's own
 * reseed interval (up to 60 s of guest uptime) passes.
 */
async function reseedKernelRng(entropy: Buffer): Promise<{ reseeded: boolean; detail: string }> {
  // Mixed in whatever follows (uncredited; root needs no capability for this).
  try {
    fs.writeFileSync("/dev/urandom", entropy);
  } catch (error) {
    return { reseeded: false, detail: `write /dev/urandom: ${(error as Error).message}` };
  }
  // A helper killed from inside the guest is replaced by the request itself (sys-helper.ts).
  const answer = await sysHelper.request("reseed", entropy.toString("hex"));
  if (answer === null)
    return { reseeded: false, detail: "the system call helper (perl) is not running" };
  return answer.ok
    ? { reseeded: true, detail: "RNDADDENTROPY + RNDRESEEDCRNG" }
    : { reseeded: false, detail: answer.reason };
}

function setHostname(hostname: string): void {
  fs.writeFileSync("/proc/sys/kernel/hostname", hostname);
  fs.writeFileSync("/etc/hostname", `${hostname}\n`);
}

function setMachineId(machineId: string): void {
  fs.writeFileSync("/etc/machine-id", `${machineId}\n`, { mode: 0o444 });
}

/**
 * `mountVolume`: what `mount_volume: true` runs last, so a restored guest is refreshed and
 * has its /workspace in one round trip (each costs 100-200 ms right after a restore under TCG).
 */
export function registerRefreshHandler(
  context: AgentContext,
  mountVolume: () => Promise<{ device: string; already_mounted: boolean }>,
): void {
  context.handlers.set("guest.refresh", async ({ body }) => {
    const entropy = Buffer.from(String(body.entropy_b64), "base64");
    const hostname = String(body.hostname);
    const machineId = String(body.machine_id);
    if (entropy.length < 32) {
      throw new ValidationError(`entropy_b64 must carry at least 32 bytes, got ${entropy.length}`, {
        field: "entropy_b64",
      });
    }
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(hostname)) {
      throw new ValidationError(
        `hostname must be 1-63 lowercase letters, digits or '-', got ${JSON.stringify(hostname)}`,
        { field: "hostname" },
      );
    }
    if (!/^[0-9a-f]{32}$/.test(machineId)) {
      throw new ValidationError(
        `machine_id must be 32 hex digits, got ${JSON.stringify(machineId)}`,
        {
          field: "machine_id",
        },
      );
    }
    // Random state first: nothing below (nor any command after) may see the template's.
    const rng = await reseedKernelRng(entropy);
    const clockSet = await syncClock(Number(body.host_time_ms));
    setHostname(hostname);
    setMachineId(machineId);
    agentIdentity.instanceId = String(body.instance_id);
    agentIdentity.restoredAt = Date.now();
    return {
      rng_reseeded: rng.reseeded,
      rng_detail: rng.detail,
      clock_set: clockSet,
      hostname,
      machine_id: machineId,
      instance_id: agentIdentity.instanceId,
      // After the new random state and clock: the mount sees neither of the template's.
      ...(body.mount_volume === true ? { volume: await mountVolume() } : {}),
    };
  });
}
