/**
 * A sandbox's network log: one JSON line per refused connection, in the sandbox's own
 * directory (it outlives resets, goes with the workspace). The VM supervisor's egress proxy
 * writes it; workspace_network_log reads it. Bounded: past MAX_LOG_BYTES the file becomes
 * `<file>.1` (the previous `.1` is dropped), so at most twice that is ever kept.
 */
import fs from "node:fs";

export const NETWORK_LOG_FILE = "network-log.jsonl";
const MAX_LOG_BYTES = 256 * 1024;

export interface NetworkLogEntry {
  /** Epoch seconds. */
  time: number;
  host: string;
  port: number;
  /** Why the connection was refused (or failed). */
  reason: string;
  /** `proxy` (HTTP CONNECT or an absolute-URI request) or `forward` (a forwarded host port). */
  via: string;
  action: "refused" | "failed";
}

export function appendNetworkLog(file: string, entry: NetworkLogEntry): void {
  try {
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size > MAX_LOG_BYTES) fs.renameSync(file, `${file}.1`);
    fs.appendFileSync(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  } catch {
    // The log explains; it must never break the connection handling it reports on.
  }
}

/** The entries kept, oldest first; torn lines (a write cut short) are counted and skipped. */
export function readNetworkLog(file: string): { entries: NetworkLogEntry[]; skipped: number } {
  const entries: NetworkLogEntry[] = [];
  let skipped = 0;
  for (const part of [`${file}.1`, file]) {
    let text: string;
    try {
      text = fs.readFileSync(part, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const value = JSON.parse(line) as NetworkLogEntry;
        if (typeof value.host === "string" && typeof value.port === "number") entries.push(value);
        else skipped += 1;
      } catch {
        skipped += 1;
      }
    }
  }
  return { entries, skipped };
}
