import os from "node:os";
import path from "node:path";

import { sudoInvoker, type InvokingUser } from "./invoking-user.js";

/** Where pyro keeps its state when nothing overrides it (`$PYRO_STATE_DIR`, then XDG). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PYRO_STATE_DIR) return path.resolve(env.PYRO_STATE_DIR);
  const xdg = env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
  return path.join(xdg, "pyro-mcp");
}

/**
 * Where guest environments (kernel, initramfs, rootfs, manifest) are cached:
 * `$PYRO_ENVIRONMENT_CACHE_DIR`, else `$XDG_CACHE_HOME/pyro-mcp/environments`
 * (`~/.cache/pyro-mcp/environments`); under sudo, the invoking user's `~/.cache` (see
 * invoking-user.ts). Guest backends read images from here.
 */
export function defaultEnvironmentCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  invoker?: InvokingUser | null,
): string {
  if (env.PYRO_ENVIRONMENT_CACHE_DIR) return path.resolve(env.PYRO_ENVIRONMENT_CACHE_DIR);
  // Under `sudo pyro env pull`, the cache of the person who ran sudo (HOME is root's there).
  const home = (invoker === undefined ? sudoInvoker(env) : invoker)?.home ?? os.homedir();
  const xdg = env.XDG_CACHE_HOME || path.join(home, ".cache");
  return path.join(xdg, "pyro-mcp", "environments");
}

/**
 * The on-disk layout under one base directory. Everything that knows a file name asks
 * this class, so the layout is written down once:
 *
 *   workspaces/<id>/workspace.json        the record (schema-versioned)
 *   workspaces/<id>/baseline/workspace.tar
 *   workspaces/<id>/snapshots/<name>.tar  + <name>.json
 *   workspaces/<id>/logs/commands.jsonl   the command log
 *   workspaces/<id>/services/             service records and logs (outside /workspace)
 *   workspaces/<id>/runtime/              agent socket, agent log, agent state
 *   workspaces/<id>/manifest-cache.ndjson the sandbox manifest the last diff received
 *   workspaces/<id>/workspace/            /workspace itself, for the host backend
 *   vms/<id>/...                          one-shot VMs: vm.json, runtime/, workspace/
 *   locks/<kind>-<id>.lock                inter-process locks (outside the dirs they guard,
 *                                         so deleting a workspace never deletes a held lock)
 */
export class StateLayout {
  constructor(readonly baseDir: string) {}

  get workspacesDir(): string {
    return path.join(this.baseDir, "workspaces");
  }
  get vmsDir(): string {
    return path.join(this.baseDir, "vms");
  }
  get locksDir(): string {
    return path.join(this.baseDir, "locks");
  }

  workspaceDir(id: string): string {
    return path.join(this.workspacesDir, id);
  }
  workspaceRecord(id: string): string {
    return path.join(this.workspaceDir(id), "workspace.json");
  }
  baselineArchive(id: string): string {
    return path.join(this.workspaceDir(id), "baseline", "workspace.tar");
  }
  snapshotsDir(id: string): string {
    return path.join(this.workspaceDir(id), "snapshots");
  }
  commandLog(id: string): string {
    return path.join(this.workspaceDir(id), "logs", "commands.jsonl");
  }
  manifestCache(id: string): string {
    return path.join(this.workspaceDir(id), "manifest-cache.ndjson");
  }
  diffBodies(id: string): string {
    return path.join(this.workspaceDir(id), "diff-bodies");
  }
  servicesDir(id: string): string {
    return path.join(this.workspaceDir(id), "services");
  }

  vmDir(id: string): string {
    return path.join(this.vmsDir, id);
  }
  vmRecord(id: string): string {
    return path.join(this.vmDir(id), "vm.json");
  }

  lockFile(kind: "workspace" | "vm" | "vms", id: string): string {
    return path.join(this.locksDir, `${kind}-${id}.lock`);
  }
}
