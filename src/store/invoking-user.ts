/**
 * The person behind `sudo pyro …`. Building a guest image needs root, so people run
 * `sudo pyro env pull`; the cache it fills must then belong to them, not to root, or their
 * own (unprivileged) `pyro run` can neither read the image nor refresh its agent. sudo
 * names them in SUDO_UID/SUDO_GID (and SUDO_USER); its default environment has root's HOME.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface InvokingUser {
  uid: number;
  gid: number;
  /** Their home directory from the password database; null when it has no entry. */
  home: string | null;
}

/**
 * The user who ran this process through sudo, when it runs as root on their behalf;
 * null otherwise (not root, plain root, or a sudo from root itself).
 */
export function sudoInvoker(
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
): InvokingUser | null {
  if (uid !== 0) return null;
  const sudoUid = idFrom(env.SUDO_UID);
  const sudoGid = idFrom(env.SUDO_GID);
  if (sudoUid === null || sudoGid === null || sudoUid === 0) return null;
  return { uid: sudoUid, gid: sudoGid, home: homeOf(sudoUid) };
}

function idFrom(text: string | undefined): number | null {
  return text !== undefined && /^[0-9]{1,10}$/.test(text) ? Number(text) : null;
}

/** A user's home from the password database (getent covers NSS sources beside /etc/passwd). */
function homeOf(uid: number): string | null {
  let line: string | undefined;
  try {
    line = execFileSync("getent", ["passwd", String(uid)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).split("\n")[0];
  } catch {
    line = readPasswd().find((entry) => entry.split(":")[2] === String(uid));
  }
  const home = line?.split(":")[5];
  return home && path.isAbsolute(home) ? home : null;
}

function readPasswd(): string[] {
  try {
    return fs.readFileSync("/etc/passwd", "utf8").split("\n");
  } catch {
    return [];
  }
}

/**
 * Gives `dir` and everything under it to `user`, and the directories above it, up to their
 * home, that root owns (the `~/.cache` and `~/.cache/pyro-mcp` a root pull created). Symlinks
 * are changed themselves, never followed; nothing outside `dir` and that chain is touched.
 */
export async function handOver(dir: string, user: InvokingUser): Promise<void> {
  await chownTree(dir, user);
  if (user.home === null) return;
  const home = path.resolve(user.home);
  for (let parent = path.dirname(dir); isInside(parent, home); parent = path.dirname(parent)) {
    const stat = await fs.promises.lstat(parent);
    if (stat.uid !== 0 || !stat.isDirectory()) break;
    await fs.promises.lchown(parent, user.uid, user.gid);
  }
}

async function chownTree(target: string, user: InvokingUser): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // removed meanwhile
    throw error;
  }
  if (stat.uid !== user.uid || stat.gid !== user.gid) {
    await fs.promises.lchown(target, user.uid, user.gid);
  }
  if (!stat.isDirectory()) return;
  for (const name of await fs.promises.readdir(target)) {
    await chownTree(path.join(target, name), user);
  }
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}
