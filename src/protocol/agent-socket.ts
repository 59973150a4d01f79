import net from "node:net";

import { PyroError } from "../errors.js";
import { withSocketAddress } from "./socket-address.js";

/** Connects to an agent's socket; a refusal or no answer within `timeoutMs` is agent_unreachable. */
export function openAgentSocket(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  return withSocketAddress(
    socketPath,
    (address) =>
      new Promise<net.Socket>((resolve, reject) => {
        const candidate = net.createConnection(address);
        const timer = setTimeout(() => {
          candidate.destroy();
          reject(
            new PyroError("backend_error", `timed out connecting to agent socket ${socketPath}`, {
              reason: "agent_unreachable",
            }),
          );
        }, timeoutMs);
        candidate.once("connect", () => {
          clearTimeout(timer);
          candidate.removeAllListeners("error");
          resolve(candidate);
        });
        candidate.once("error", (error) => {
          clearTimeout(timer);
          reject(
            new PyroError(
              "backend_error",
              `cannot connect to agent socket ${socketPath}: ${error.message}`,
              { reason: "agent_unreachable" },
              { cause: error },
            ),
          );
        });
      }),
  );
}
