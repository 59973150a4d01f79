/**
 * `guest.refresh`: what makes a guest restored from a booted-guest template a fresh
 * sandbox (docs/qemu-backend.md, "Templates"). Every guest restored from one template
 * starts with the same memory: the kernel RNG's state, the clock, the hostname and this
 * agent's identity are the template's. The VM supervisor sends this request first, before
 * any client can reach the guest, with entropy from the host's CSPRNG.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface as ReadlineInterface } from "node:readline";
import fs from "node:fs";

import { ValidationError } from "../errors.js";
import { syncClock } from "./clock.js";
import type { AgentContext } from "./context.js";

/** The agent's identity, named in its hello; a restore gives it a new one. */
export const agentIdentity = { instanceId: "", restoredAt: null as number | null };

/** RNDADDENTROPY = _IOW('R', 0x03, int[2]); RNDRESEEDCRNG = _IO('R', 0x07). */
const RNDADDENTROPY = 0x40085203;
const RNDRESEEDCRNG = 0x5207;

/** Credits entropy (hex on a line) and forces a reseed; answers "ok" or "err REASON". */
const RESEEDER = [
  "$| = 1;",
  "open(my $f, '+<', '/dev/urandom') or die \"open: $!\\n\";",
  "while (my $line = <STDIN>) {",
  "  chomp $line; my $e = pack('H*', $line);",
  "  my $info = pack('ii', 8 * length($e), length($e)) . $e;",
  `  if (!ioctl($f, ${RNDADDENTROPY}, $info)) { print "err RNDADDENTROPY: $!\\n"; next; }`,
  `  if (!ioctl($f, ${RNDRESEEDCRNG}, 0)) { print "err RNDRESEEDCRNG: $!\\n"; next; }`,
  '  print "ok\\n";',
  "}",
].join(" ");

/**
 * Node cannot issue an ioctl; perl (perl-base is part of every Debian system) can. The
 * reseeder is started with the agent, before a template is saved, so a restored guest
 * pays no exec of perl (under TCG, translating a new program's start-up is what costs).
 */
class Reseeder {
  private child: ChildProcessWithoutNullStreams | null = null;
  private lines: ReadlineInterface | null = null;

  start(): void {
    try {
      const child = spawn("perl", ["-e", RESEEDER], { stdio: ["pipe", "pipe", "pipe"] });
      child.on("error", () => this.stop());
      child.on("exit", () => this.stop());
      child.stderr.resume();
      this.child = child;
      this.lines = createInterface({ input: child.stdout });
    } catch {
      this.child = null;
    }
  }

  private stop(): void {
    this.child = null;
    this.lines?.close();
    this.lines = null;
  }

  /** Resolves with the reseeder's answer, or null when it is not running. */
  async reseed(entropy: Buffer): Promise<string | null> {
    const { child, lines } = this;
    if (!child || !lines) return null;
    const answer = new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 10_000);
      lines.once("line", (line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
    child.stdin.write(`${entropy.toString("hex")}\n`);
    return answer;
  }
}

const reseeder = new Reseeder();

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
  let answer = await reseeder.reseed(entropy);
  if (answer === null) {
    // The helper is gone (killed from inside the guest?): a one-off perl does the same.
    const result = spawnSync("perl", ["-e", RESEEDER], {
      input: `${entropy.toString("hex")}\n`,
      encoding: "utf8",
    });
    answer = result.error ? `err perl: ${result.error.message}` : result.stdout.trim();
  }
  return answer === "ok"
    ? { reseeded: true, detail: "RNDADDENTROPY + RNDRESEEDCRNG" }
    : { reseeded: false, detail: answer || "perl gave no answer" };
}

function setHostname(hostname: string): void {
  fs.writeFileSync("/proc/sys/kernel/hostname", hostname);
  fs.writeFileSync("/etc/hostname", `${hostname}\n`);
}

function setMachineId(machineId: string): void {
  fs.writeFileSync("/etc/machine-id", `${machineId}\n`, { mode: 0o444 });
}

export function registerRefreshHandler(context: AgentContext): void {
  reseeder.start();
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
    const hostTime = Number(body.host_time_ms);
    const clockSet = Math.abs(Date.now() - hostTime) >= 250;
    syncClock(hostTime);
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
    };
  });
}
