import fs from "node:fs";
import net from "node:net";
import path from "node:path";

/**
 * sun_path holds 107 bytes and a NUL on Linux. Deep state directories (CI temp dirs, long
 * home paths) give longer socket paths, and a socket elsewhere (a shared temp directory)
 * could be taken over by another local user. So sockets always live in their sandbox's
 * private runtime directory, and a path too long for bind()/connect() is reached through
 * the directory itself: open it and use `/proc/self/fd/<fd>/<name>`, which the kernel
 * resolves through the open directory and which is short whatever the directory's path.
 */
const MAX_SOCKET_PATH_BYTES = 107;

/** Runs `use` with an address for `socketPath` that fits sun_path (see above). */
export async function withSocketAddress<T>(
  socketPath: string,
  use: (address: string) => Promise<T>,
): Promise<T> {
  if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES) return use(socketPath);
  const fd = fs.openSync(
    path.dirname(socketPath),
    fs.constants.O_RDONLY | fs.constants.O_DIRECTORY,
  );
  try {
    return await use(`/proc/self/fd/${fd}/${path.basename(socketPath)}`);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * For a process we start (qemu binding its end of the agent port): the address it should
 * use when the directory is passed to it as file descriptor `fd`, or null if the plain path fits.
 */
export function inheritedSocketAddress(socketPath: string, fd: number): string | null {
  if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES) return null;
  return `/proc/self/fd/${fd}/${path.basename(socketPath)}`;
}

/**
 * Connects to the Unix socket at `socketPath` (through its directory when the path is too
 * long, see above). No connection within `timeoutMs` rejects with `onTimeout()`, a refusal
 * with `onError(error)`: each caller words the failure for its own peer.
 */
export function connectUnixSocket(
  socketPath: string,
  timeoutMs: number,
  failures: { onTimeout: () => Error; onError: (error: Error) => Error },
): Promise<net.Socket> {
  return withSocketAddress(
    socketPath,
    (address) =>
      new Promise<net.Socket>((resolve, reject) => {
        const candidate = net.createConnection(address);
        const timer = setTimeout(() => {
          candidate.destroy();
          reject(failures.onTimeout());
        }, timeoutMs);
        candidate.once("connect", () => {
          clearTimeout(timer);
          candidate.removeAllListeners("error");
          resolve(candidate);
        });
        candidate.once("error", (error) => {
          clearTimeout(timer);
          reject(failures.onError(error));
        });
      }),
  );
}
