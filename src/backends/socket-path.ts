import path from "node:path";

/**
 * `<runtimeDir>/<name>.sock`, always: the runtime directory is private (0700) and inside
 * the state directory. A path too long for sun_path is bound and connected through the
 * open directory (src/protocol/socket-address.ts), never moved to a shared directory such
 * as the temp dir, where another local user could create it first and serve a fake agent.
 */
export function socketPathFor(runtimeDir: string, name: string): string {
  return path.join(runtimeDir, `${name}.sock`);
}
