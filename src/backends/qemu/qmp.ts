/**
 * A one-shot QMP session with a guest's qemu (runtime/qmp.sock, present only under
 * network_policy egress+published-ports): published ports are added and removed with
 * `hostfwd_add` / `hostfwd_remove`, which QMP offers as human monitor commands.
 */
import net from "node:net";

import { PyroError } from "../../errors.js";
import { withSocketAddress } from "../../protocol/socket-address.js";

const QMP_TIMEOUT_MS = 10_000;

/** Runs human monitor commands in order; returns each one's output (empty on success). */
export function humanMonitorCommands(socketPath: string, commands: string[]): Promise<string[]> {
  return withSocketAddress(
    socketPath,
    (address) =>
      new Promise<string[]>((resolve, reject) => {
        const socket = net.connect(address);
        const outputs: string[] = [];
        let buffer = "";
        let sent = 0;
        const fail = (message: string): void => {
          socket.destroy();
          reject(
            new PyroError("backend_error", `qemu monitor: ${message}`, { socket: socketPath }),
          );
        };
        const timer = setTimeout(() => fail("no answer within 10 s"), QMP_TIMEOUT_MS);
        const send = (value: unknown): void => void socket.write(`${JSON.stringify(value)}\n`);
        socket.setEncoding("utf8");
        socket.once("error", (error) => fail(error.message));
        socket.on("data", (chunk: string) => {
          buffer += chunk;
          for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line) continue;
            let message: Record<string, unknown>;
            try {
              message = JSON.parse(line) as Record<string, unknown>;
            } catch {
              fail(`not JSON: ${line.slice(0, 200)}`);
              return;
            }
            if ("QMP" in message) send({ execute: "qmp_capabilities" });
            else if ("error" in message) fail(JSON.stringify(message.error));
            else if ("return" in message) {
              // The first return answers qmp_capabilities; the others, our commands in order.
              if (sent > 0) outputs.push(typeof message.return === "string" ? message.return : "");
              const next = commands[sent];
              if (next === undefined) {
                clearTimeout(timer);
                socket.end();
                resolve(outputs);
                return;
              }
              sent += 1;
              send({ execute: "human-monitor-command", arguments: { "command-line": next } });
            }
            // Events ({"event": ...}) are ignored.
          }
        });
      }),
  );
}
