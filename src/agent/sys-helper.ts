/**
 * The guest agent's helper for the system calls Node cannot make: ioctls (kernel RNG
 * reseed, buffer flush, filesystem freeze), clock_settime and mount. It is one perl process
 * (perl-base is part of every Debian system), started with the agent, so it is already
 * running in a booted-guest template and a restored guest pays no exec for it.
 *
 * Why not spawn `date -s`, `blockdev`, `mount` and `fsfreeze`: under TCG, right after a
 * restore from a template, every new program's start-up (fork of the agent, the dynamic
 * loader, libc) is translated again, 100-300 ms each, and a reset ran four of them before
 * its first command. A line to this helper is a pipe round trip.
 *
 * Requests are one line each (`OP ARG...`, no argument contains a space), answered `ok` or
 * `err REASON`, one at a time. When the helper is gone (killed from inside the guest) or
 * cannot do an operation (an architecture whose system call numbers it does not know),
 * callers run the tool instead (see `run`).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface as ReadlineInterface } from "node:readline";

import { PyroError } from "../errors.js";

/** RNDADDENTROPY = _IOW('R', 0x03, int[2]); RNDRESEEDCRNG = _IO('R', 0x07). */
const RNDADDENTROPY = 0x40085203;
const RNDRESEEDCRNG = 0x5207;
/** BLKFLSBUF = _IO(0x12, 97); FIFREEZE / FITHAW = _IOWR('X', 119 / 120, int). */
const BLKFLSBUF = 0x1261;
const FIFREEZE = 0xc0045877;
const FITHAW = 0xc0045878;
/** O_RDONLY | O_DIRECTORY (x86-64 and arm64 agree), for the freeze's descriptor. */
const O_DIRECTORY = 0o200000;

/** clock_settime, clock_gettime and mount, per architecture (asm/unistd.h). */
const SYSCALLS: Partial<Record<NodeJS.Architecture, [number, number, number]>> = {
  x64: [227, 228, 165],
  arm64: [112, 113, 40],
};

/**
 * `step MS` reads CLOCK_REALTIME and sets it MS later in one go, so the time the request
 * took to arrive is not added to the clock (an absolute `settime` would be that late).
 */
const SCRIPT = [
  "$| = 1; my ($settime, $gettime, $mount) = @ARGV;",
  "open(my $u, '+<', '/dev/urandom') or die \"open: $!\\n\";",
  "sub settime { my ($ns) = @_; my $s = int($ns / 1e9); my $r = $ns - $s * 1e9;",
  "  return syscall($settime, 0, pack('qq', $s, $r)) == 0; }",
  "while (my $line = <STDIN>) {",
  "  chomp $line; my ($op, @a) = split(/ /, $line); my $ok = 0; my $d;",
  "  if ($op eq 'reseed') { my $e = pack('H*', $a[0]);",
  "    my $info = pack('ii', 8 * length($e), length($e)) . $e;",
  `    if (!ioctl($u, ${RNDADDENTROPY}, $info)) { print "err RNDADDENTROPY: $!\\n"; next; }`,
  `    $ok = ioctl($u, ${RNDRESEEDCRNG}, 0); }`,
  '  elsif (!$settime) { print "err unsupported\\n"; next; }',
  "  elsif ($op eq 'settime') { $ok = settime($a[0] * 1e6); }",
  "  elsif ($op eq 'step') { my $t = \"\\0\" x 16;",
  "    if (syscall($gettime, 0, $t) == 0) { my ($s, $n) = unpack('qq', $t);",
  "      $ok = settime($s * 1e9 + $n + $a[0] * 1e6); } }",
  `  elsif ($op eq 'flushbufs') { $ok = open($d, '<', $a[0]) && ioctl($d, ${BLKFLSBUF}, 0); }`,
  "  elsif ($op eq 'mount') { $ok = syscall($mount, $a[0], $a[1], $a[2], $a[3] + 0, 0) == 0; }",
  `  elsif ($op eq 'freeze' || $op eq 'thaw') { $ok = sysopen($d, $a[0], ${O_DIRECTORY})`,
  `    && ioctl($d, $op eq 'freeze' ? ${FIFREEZE} : ${FITHAW}, 0); }`,
  '  else { print "err unknown operation\\n"; next; }',
  '  print $ok ? "ok\\n" : "err $op: $!\\n";',
  "}",
].join(" ");

/** What a request answered: null when the helper is not running or cannot do it. */
type HelperAnswer = { ok: true } | { ok: false; reason: string } | null;

class SysHelper {
  private child: ChildProcessWithoutNullStreams | null = null;
  private lines: ReadlineInterface | null = null;
  /** Requests run one at a time: each waits for the one before it. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Set by start(): from then on a helper that died is replaced by the next request. */
  private wanted = false;

  start(): void {
    this.wanted = true;
    if (this.child) return;
    const numbers = SYSCALLS[process.arch] ?? [0, 0, 0];
    try {
      const child = spawn("perl", ["-e", SCRIPT, ...numbers.map(String)], {
        stdio: ["pipe", "pipe", "pipe"],
      });
      child.on("error", () => this.stop(child));
      child.on("exit", () => this.stop(child));
      child.stderr.resume();
      // A helper that died mid-request: its answer is null (send), not an EPIPE thrown here.
      child.stdin.on("error", () => this.stop(child));
      this.child = child;
      this.lines = createInterface({ input: child.stdout });
    } catch {
      this.child = null;
    }
  }

  /** Forgets `child` if it is still the helper (a replaced one's late exit changes nothing). */
  private stop(child: ChildProcessWithoutNullStreams): void {
    if (this.child !== child) return;
    this.child = null;
    this.lines?.close();
    this.lines = null;
  }

  /** Sends one request (after any in flight); `args` must not contain spaces or newlines. */
  request(op: string, ...args: string[]): Promise<HelperAnswer> {
    if (args.some((arg) => !/^[\x21-\x7e]+$/.test(arg))) {
      return Promise.resolve({ ok: false, reason: `${op}: an argument is not printable ASCII` });
    }
    const next = this.queue.then(() => this.send([op, ...args].join(" ")));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async send(line: string): Promise<HelperAnswer> {
    // Killed from inside the guest, say: a new one serves this request (the mount, the
    // freeze and the clock would otherwise fall back to their tools until the next restore).
    if (!this.child && this.wanted) this.start();
    const { child, lines } = this;
    if (!child || !lines) return null;
    const answer = await new Promise<string | null>((resolve) => {
      const onClose = (): void => finish(null);
      const onLine = (text: string): void => finish(text);
      const timer = setTimeout(() => {
        // A late answer would be read as the next request's: this helper is done for.
        child.kill("SIGKILL");
        this.stop(child);
        finish(null);
      }, 10_000);
      function finish(text: string | null): void {
        clearTimeout(timer);
        lines?.off("line", onLine);
        lines?.off("close", onClose);
        resolve(text);
      }
      lines.once("line", onLine);
      lines.once("close", onClose);
      child.stdin.write(`${line}\n`);
    });
    if (answer === null || answer === "err unsupported") return null;
    return answer === "ok" ? { ok: true } : { ok: false, reason: answer.replace(/^err /, "") };
  }
}

/** The agent's one helper; `start` it once, early (before a template is saved). */
export const sysHelper = new SysHelper();

/**
 * One step through the helper (no program to start, which costs 100-300 ms right after a
 * restore under TCG), or the tool that does the same when the helper is not running or
 * failed (the tool's message then says why).
 */
export async function helperStep(
  helper: [op: string, ...args: string[]],
  tool: [command: string, ...args: string[]],
): Promise<void> {
  const answer = await sysHelper.request(...helper);
  if (answer?.ok) return;
  const [command, ...args] = tool;
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  if (result.error || result.status !== 0) {
    const detail = result.error?.message ?? (result.stderr.trim() || `exit ${result.status}`);
    throw new PyroError("backend_error", `${command} ${args.join(" ")}: ${detail}`);
  }
}
