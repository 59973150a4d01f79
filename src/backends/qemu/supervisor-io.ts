/** The supervisor's small helpers: pid files, the console's tail, connecting, its release. */
import fs from "node:fs";
import net from "node:net";

import { readProcStat, sleep } from "../../process/process-group.js";
import { consoleTail, type SupervisorConfig } from "./supervisor-config.js";

export const log = (message: string): void =>
  console.error(`${new Date().toISOString()} pyro-supervisor: ${message}`);

/** `{pid, start_ticks}`, written whole (temp + rename) so a reader never sees half of it. */
export function writePidFile(file: string, pid: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(
    temp,
    JSON.stringify({ pid, start_ticks: readProcStat(pid)?.startTicks ?? null }),
    { mode: 0o600 },
  );
  fs.renameSync(temp, file);
}

export function readConsoleTail(config: SupervisorConfig): string {
  try {
    return consoleTail(fs.readFileSync(config.console_log, "utf8"));
  } catch {
    return "(no guest console log)";
  }
}

export async function connectWithRetry(
  socketPath: string,
  signal: AbortSignal,
): Promise<net.Socket> {
  for (;;) {
    if (signal.aborted) throw signal.reason as Error;
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.createConnection(socketPath);
        socket.once("connect", () => {
          socket.removeAllListeners("error");
          resolve(socket);
        });
        socket.once("error", reject);
      });
    } catch {
      await sleep(20);
    }
  }
}

/** True once the launcher writes "go" on stdin; false if stdin ends first. */
export function launchReleased(): Promise<boolean> {
  return new Promise((resolve) => {
    let received = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk: string) => {
      received += chunk;
      if (received.includes("go\n")) {
        resolve(true);
        process.stdin.destroy();
      }
    });
    process.stdin.once("end", () => resolve(received.includes("go\n")));
    process.stdin.once("error", () => resolve(false));
  });
}
