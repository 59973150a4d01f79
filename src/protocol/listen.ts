import fs from "node:fs";
import type net from "node:net";

import { withSocketAddress } from "./socket-address.js";

/**
 * Starts `server` on the Unix socket `socketPath`, readable and writable by the owner only.
 * It binds under a temporary name and renames once listening: the path never exists in the
 * window between bind() and listen() where connects are refused, so a client that sees the
 * path can connect, and the mode is set before the socket becomes reachable. (The agent and
 * the VM supervisor both announce readiness by their socket appearing.)
 */
export function listenAtomically(server: net.Server, socketPath: string): Promise<void> {
  const pending = `${socketPath}.${process.pid}.tmp`;
  fs.rmSync(pending, { force: true });
  fs.rmSync(socketPath, { force: true });
  // Only bind() needs the short address; chmod and rename take the full path.
  return withSocketAddress(
    pending,
    (address) =>
      new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(address, () => {
          server.off("error", reject);
          fs.chmodSync(pending, 0o600);
          fs.renameSync(pending, socketPath);
          resolve();
        });
      }),
  );
}
