import fs from "node:fs/promises";
import path from "node:path";

import { CommandLogEntrySchema, type CommandLogEntry } from "../store/records.js";

/**
 * The command log is JSON Lines, appended under the workspace lock. A torn last line (a
 * crash mid-append) or a line that fails validation is skipped, never fatal.
 */
export async function appendCommand(file: string, entry: CommandLogEntry): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.appendFile(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
}

export async function readCommands(file: string): Promise<CommandLogEntry[]> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const entries: CommandLogEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const parsed = CommandLogEntrySchema.safeParse(JSON.parse(line));
      if (parsed.success) entries.push(parsed.data);
    } catch {
      // torn line: skip
    }
  }
  return entries;
}

export async function clearCommands(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}
