import type net from "node:net";

import { PyroError } from "../errors.js";
import { connectUnixSocket } from "./socket-address.js";

/** Connects to an agent's socket; a refusal or no answer within `timeoutMs` is agent_unreachable. */
export function openAgentSocket(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  return connectUnixSocket(socketPath, timeoutMs, {
    onTimeout: () =>
      new PyroError("backend_error", `timed out connecting to agent socket ${socketPath}`, {
        reason: "agent_unreachable",
      }),
    onError: (error) =>
      new PyroError(
        "backend_error",
        `cannot connect to agent socket ${socketPath}: ${error.message}`,
        { reason: "agent_unreachable" },
        { cause: error },
      ),
  });
}
