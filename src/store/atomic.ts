import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

/** A sibling temp name: same directory, so the final rename is atomic on one filesystem. */
export function tempSibling(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.tmp-${randomBytes(6).toString("hex")}`,
  );
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
