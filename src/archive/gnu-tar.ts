/**
 * GNU tar, used for the bulk work when the system has it (every Debian guest does, and so
 * do most hosts): extracting and packing many small files is where node-tar's per-member
 * JavaScript costs most. In a guest under software emulation (TCG), 10,000 small files
 * took about 55 s to extract with node-tar and 1.6 s with GNU tar.
 *
 * Archives are still validated member by member by our own code first (validate.ts), and
 * GNU tar never reads an untrusted archive's own headers: it extracts the canonical
 * re-write of the accepted members (canonical.ts), so the names it writes are the ones
 * validation checked. `PYRO_AGENT_TAR=builtin` forces node-tar,
 * which is also the fallback where GNU tar is missing.
 *
 * This module is bundled into the guest agent, which runs on Node 18.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

import { PyroError } from "../errors.js";

const CANDIDATES = ["/usr/bin/tar", "/bin/tar"];
let detected: string | null | undefined;

/** The GNU tar binary to use, or null (node-tar is used instead). */
export function gnuTar(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PYRO_AGENT_TAR === "builtin") return null;
  if (detected === undefined) {
    detected = null;
    for (const candidate of CANDIDATES) {
      if (!existsSync(candidate)) continue;
      const version = spawnSync(candidate, ["--version"], { encoding: "utf8", timeout: 5_000 });
      if (version.status === 0 && version.stdout.includes("GNU tar")) {
        detected = candidate;
        break;
      }
    }
  }
  return detected;
}

function run(tar: string, args: string[], what: string, stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tar, args, {
      stdio: [stdin === undefined ? "ignore" : "pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-2000);
    });
    child.once("error", (error) =>
      reject(new PyroError("internal", `${what}: ${error.message}`, {}, { cause: error })),
    );
    child.once("close", (code) => {
      if (code === 0) {
        resolve();
        return;
      }
      // GNU tar names the member first: "tar: busy: Cannot open: Is a directory".
      const first = stderr.trim().split("\n")[0] ?? "";
      const member = /^(?:\S*\/)?tar: (.+?): /.exec(first)?.[1];
      const which = member ? ` member '${member}'` : "";
      const detail =
        first.replace(/^\S*\/tar: /, "tar: ") || `tar exited with code ${String(code)}`;
      reject(new PyroError("internal", `${what}${which}: ${detail}`, member ? { member } : {}));
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/**
 * Extracts a canonical archive (canonical.ts) into `root` with overlay semantics: a member
 * replaces what is at its path (GNU tar removes an existing file or symlink first and never
 * writes through it), everything else is kept. Owners are not restored; modes (already
 * without setuid/setgid) and mtimes are, exactly: `-p` ignores the umask of an agent that
 * is not root (the host backend's), as root in a guest does anyway, so what lands is what
 * the archive says (create keeps the archive it sent as the baseline). GNU tar would follow a symlink that exists in the
 * destination as a parent of a member, or treat one as a directory member's directory:
 * validation refuses both beforehand.
 */
export function extractWithGnuTar(
  tar: string,
  file: string,
  root: string,
  gzip: boolean,
): Promise<void> {
  return run(
    tar,
    [
      "-x",
      ...(gzip ? ["-z"] : []),
      "-f",
      file,
      "-C",
      root,
      "--no-same-owner",
      "--preserve-permissions",
      "--warning=no-unknown-keyword",
      "--warning=no-timestamp",
    ],
    `failed to extract archive '${file}'`,
  );
}

/** Every archive pyro packs with GNU tar: numeric owner 0 (portable), GNU format. */
export const TAR_PACK_COMMON = ["--owner=0", "--group=0", "--numeric-owner", "--format=gnu"];

/**
 * Packing exactly the NUL-separated names on stdin (a directory without its contents, a
 * symlink as a symlink).
 */
export const PACK_LISTED = ["--no-recursion", "--null", "-T", "-", ...TAR_PACK_COMMON];

/**
 * Packs `dir` into an uncompressed tar (member names per `naming`),
 * symlinks stored as symlinks, only files, directories and symlinks (`find` selects them:
 * extraction refuses fifos, sockets and devices), numeric owner 0 for portability.
 */
export async function packWithGnuTar(
  tar: string,
  dir: string,
  file: string,
  naming: "dot-prefixed" | "relative",
): Promise<number> {
  // An empty directory still gets one member, its root, as node-tar's archives do.
  const names = (await listPackable(dir, naming)) || ".\0";
  await run(
    tar,
    ["-c", "-f", file, "-C", dir, ...PACK_LISTED],
    `failed to archive '${dir}'`,
    names,
  );
  // Members written, the root `./` not counted (as writeArchive counts).
  return names.split("\0").filter((name) => name !== "" && name !== ".").length;
}

/** NUL-separated relative names of the files, directories and symlinks under `dir`. */
function listPackable(dir: string, naming: "dot-prefixed" | "relative"): Promise<string> {
  // dot-prefixed: `.`, `./a`, ... as node-tar names a packed directory; relative: `a`, ...
  const relative = naming === "relative";
  const args = [
    ".",
    ...(relative ? ["-mindepth", "1"] : []),
    ...["(", "-type", "f", "-o", "-type", "d", "-o", "-type", "l", ")"],
    ...(relative ? ["-printf", "%P\\0"] : ["-print0"]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("find", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.once("error", (error) =>
      reject(new PyroError("internal", `find: ${error.message}`, {}, { cause: error })),
    );
    child.once("close", (code) =>
      code === 0
        ? resolve(Buffer.concat(chunks).toString("utf8"))
        : reject(new PyroError("internal", `listing '${dir}' failed: ${stderr.trim()}`)),
    );
  });
}
