import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

import { isSameProcess, readProcStat } from "../process/process-group.js";

/**
 * A sibling temp name: same directory, so the final rename is atomic on one filesystem.
 * It carries its creator's pid and /proc start time, so a temp left by a process that was
 * killed is recognised as garbage (sweepDeadTemps) and one still being written is not.
 */
export function tempSibling(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.tmp-${process.pid}-${OWN_START_TICKS}-${randomBytes(6).toString("hex")}`,
  );
}

const OWN_START_TICKS = readProcStat(process.pid)?.startTicks ?? 0;
const TEMP_PATTERN = /\.tmp-(\d+)-(\d+)-[0-9a-f]{12}$/;

/** Removes the temp siblings in `dir` whose creating process is gone; returns their names. */
export async function sweepDeadTemps(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_PATTERN.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    const ticks = Number(match[2]);
    if (isSameProcess(pid, ticks === 0 ? null : ticks)) continue;
    await fs.rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Writes a file so readers see either the old or the new content, never a torn one:
 * write a temp sibling, fsync it, rename over the target.
 */
export async function writeFileAtomic(target: string, data: string | Buffer): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = tempSibling(target);
  try {
    const handle = await fs.open(temp, "w", 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

export function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  return writeFileAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
}

/** Moves a finished temp file into place; removes it if the move fails. */
export async function commitTemp(temp: string, target: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}
