/**
 * Confinement of commands in a real guest with cgroup v2.
 *
 * Every exec runs in a cgroup of its own under /sys/fs/cgroup/pyro-user, which bounds what
 * all commands together may take (processes, memory) and gives the agent one atomic kill
 * for everything an exec started: `cgroup.kill` reaches every process in the cgroup,
 * including ones forked while it runs, whatever session or process group they moved to.
 * A fork bomb therefore stops at `pids.max`, dies at the exec's timeout, and cannot outlive
 * the call even when it was started in the background.
 *
 * The agent itself stays in the root cgroup: with the cpu controller on, all commands
 * together weigh as much as one of its threads, so it keeps answering (and can still fork:
 * the process limit is theirs, not the guest's).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { sleep } from "../process/process-group.js";

const CGROUP_ROOT = "/sys/fs/cgroup";
const USER_CGROUP = path.join(CGROUP_ROOT, "pyro-user");
/** The leaf of pyro-user that shells and services share. */
const SESSIONS = "sessions";
/**
 * Memory kept for the agent and the kernel whatever commands do: at least this... The kernel
 * and the agent (Node) need about 100 MiB between them; with only 64 MiB kept, a fork bomb in
 * a 256 MiB guest once left the agent unable to answer within the exec deadline (most likely
 * starved of memory: 1 run in 4).
 */
const AGENT_RESERVE_MIN_BYTES = 128 * 1024 * 1024;
/** ...or this share of the guest's memory, whichever is larger. */
const AGENT_RESERVE_SHARE = 1 / 8;
/** After a kill, how long an exec waits for its cgroup to empty before leaving it behind. */
const EMPTY_WAIT_MS = 5_000;
/** How often cgroups left behind are retried in the background until they are gone. */
const LEFTOVER_RETRY_MS = 250;

/**
 * `sh -c CONFINE /bin/sh <cgroup.procs file> <command>`: the wrapper moves itself into the
 * exec's cgroup and then becomes `/bin/sh -c <command>` (same pid, so the agent's child is
 * still the command's shell). Nothing the command runs can start outside the cgroup. The
 * agent is shielded from the OOM killer and children inherit that: commands must not be.
 */
export const CONFINE_SCRIPT =
  'echo $$ > "$1" || echo "pyro: could not move the command into its cgroup" >&2; ' +
  'echo 0 > /proc/self/oom_score_adj 2>/dev/null; shift; exec /bin/sh -c "$1"';

export class ExecCgroups {
  private next = 0;
  /**
   * Cgroups an exec's destroy() could not remove in time (killing a large fork bomb under
   * TCG can outlast EMPTY_WAIT_MS): a background timer kills and retries them until they
   * are gone, so none is left behind once its last process has died.
   */
  private readonly leftovers = new Set<ExecCgroup>();
  private retryTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly log: (message: string) => void) {}

  private leaveBehind(cgroup: ExecCgroup): void {
    this.leftovers.add(cgroup);
    this.retryTimer ??= setInterval(() => this.retireLeftovers(), LEFTOVER_RETRY_MS);
  }

  private retireLeftovers(): void {
    for (const cgroup of this.leftovers) if (cgroup.retire()) this.leftovers.delete(cgroup);
    if (this.leftovers.size === 0 && this.retryTimer) {
      clearInterval(this.retryTimer);
      this.retryTimer = null;
    }
  }

  /** Mounts cgroup2 if needed and creates pyro-user with its limits; null when unusable. */
  static setUp(log: (message: string) => void): ExecCgroups | null {
    if (!mountCgroup2(log)) return null;
    // Each controller on its own: a kernel without one still gets the others.
    for (const controller of ["pids", "memory", "cpu"]) {
      tryWrite(path.join(CGROUP_ROOT, "cgroup.subtree_control"), `+${controller}`);
    }
    try {
      fs.mkdirSync(USER_CGROUP, { recursive: true });
    } catch (error) {
      log(`cgroups unavailable, execs are confined by process group only: ${String(error)}`);
      return null;
    }
    const threadsMax = readNumber("/proc/sys/kernel/threads-max");
    if (threadsMax !== null) {
      // Half of what the kernel allows: the rest stays for the agent and the guest.
      tryWrite(
        path.join(USER_CGROUP, "pids.max"),
        String(Math.max(64, Math.floor(threadsMax / 2))),
      );
    }
    const memTotal = readMemTotal();
    if (memTotal !== null) {
      const reserve = Math.max(AGENT_RESERVE_MIN_BYTES, Math.floor(memTotal * AGENT_RESERVE_SHARE));
      tryWrite(
        path.join(USER_CGROUP, "memory.max"),
        String(Math.floor(Math.max(memTotal - reserve, memTotal / 2))),
      );
    }
    tryMkdir(path.join(USER_CGROUP, SESSIONS));
    return new ExecCgroups(log);
  }

  /**
   * Shell code that moves the shell running it into pyro-user/sessions and gives up the
   * agent's OOM shield: shells and services start with it, so a bomb in one is bounded by
   * the same limits as execs (their teardown kills by session and owner marker).
   */
  sessionPrefix(): string {
    const procs = path.join(USER_CGROUP, SESSIONS, "cgroup.procs");
    return `echo $$ > ${procs} 2>/dev/null; echo 0 > /proc/self/oom_score_adj 2>/dev/null; `;
  }

  /** A fresh cgroup for one exec (null if it cannot be made: the exec runs unconfined). */
  create(): ExecCgroup | null {
    this.retireLeftovers();
    const dir = path.join(USER_CGROUP, `exec-${process.pid}-${++this.next}`);
    try {
      fs.mkdirSync(dir);
      return new ExecCgroup(dir, this.log, (cgroup) => this.leaveBehind(cgroup));
    } catch (error) {
      this.log(`could not create ${dir}: ${(error as Error).message}`);
      return null;
    }
  }
}

export class ExecCgroup {
  constructor(
    readonly dir: string,
    private readonly log: (message: string) => void,
    /** Where destroy() hands a cgroup it could not remove, to be retried until gone. */
    private readonly leaveBehind: (cgroup: ExecCgroup) => void,
  ) {}

  get procsFile(): string {
    return path.join(this.dir, "cgroup.procs");
  }

  /** True while any process is in the cgroup (zombies are not). */
  populated(): boolean {
    try {
      return /^populated 1$/m.test(fs.readFileSync(path.join(this.dir, "cgroup.events"), "utf8"));
    } catch {
      return false;
    }
  }

  /** SIGKILLs every process in the cgroup at once (kernel 5.14+), else one by one. */
  kill(): void {
    if (tryWrite(path.join(this.dir, "cgroup.kill"), "1")) return;
    // Older kernels: freeze first so nothing forks between reading the list and the kills.
    const frozen = tryWrite(path.join(this.dir, "cgroup.freeze"), "1");
    for (const pid of this.pids()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (frozen) tryWrite(path.join(this.dir, "cgroup.freeze"), "0");
  }

  /** Kills whatever is left, waits for the cgroup to empty and removes it. */
  async destroy(): Promise<void> {
    if (this.populated()) {
      this.kill();
      const deadline = Date.now() + EMPTY_WAIT_MS;
      while (this.populated() && Date.now() < deadline) {
        await sleep(10);
        this.kill();
      }
    }
    if (this.tryRemove()) return;
    this.log(`${this.dir} is not empty ${EMPTY_WAIT_MS} ms after its kill; retrying until it is`);
    this.leaveBehind(this);
  }

  /** Kills what is still there and removes the cgroup once it is empty; true when gone. */
  retire(): boolean {
    if (this.populated()) this.kill();
    return this.tryRemove();
  }

  private tryRemove(): boolean {
    try {
      fs.rmdirSync(this.dir);
      return true;
    } catch (error) {
      // EBUSY while a process is still dying: the caller retries.
      return (error as NodeJS.ErrnoException).code === "ENOENT";
    }
  }

  private pids(): number[] {
    try {
      return fs.readFileSync(this.procsFile, "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }
}

/** cgroup2 at /sys/fs/cgroup (pyro-init does not mount it); false when there is none. */
function mountCgroup2(log: (message: string) => void): boolean {
  if (fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"))) return true;
  const result = spawnSync("mount", ["-t", "cgroup2", "-o", "nsdelegate", "cgroup2", CGROUP_ROOT], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (result.status === 0 && fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"))) {
    return true;
  }
  log(
    `cgroups unavailable, execs are confined by process group only: ${result.error?.message ?? result.stderr.trim()}`,
  );
  return false;
}

function tryMkdir(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch {
    // exists already, or cannot be made: sessionPrefix's echo then fails quietly
  }
}

function tryWrite(file: string, value: string): boolean {
  try {
    fs.writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

function readNumber(file: string): number | null {
  try {
    const value = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isFinite(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

function readMemTotal(): number | null {
  try {
    const match = /^MemTotal:\s+(\d+) kB$/m.exec(fs.readFileSync("/proc/meminfo", "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
