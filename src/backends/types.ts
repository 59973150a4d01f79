import type { NetworkPolicy } from "../shared/network-policy.js";
import type { RuntimeRecord } from "../store/records.js";

export const BACKEND_NAMES = ["qemu", "firecracker", "host"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a backend needs to boot one sandbox. */
export interface SandboxSpec {
  sandboxId: string;
  /** Catalogue name (`debian:12`); guest backends boot its cached image. */
  environment: string;
  /** The sandbox's own state directory (workspaces/<id> or vms/<id>). */
  sandboxDir: string;
  vcpuCount: number;
  memMib: number;
  allowHostCompat: boolean;
  networkRequested: boolean;
  /** Epoch seconds after which the sandbox stops itself, even if no pyro process is left. */
  expiresAt: number;
  /** A workspace's activity file (src/shared/activity-file.ts): idle use moves the self-stop. */
  activityFile?: string | null;
  /** Boot on the disk a `halt` kept (workspace_start) instead of a fresh one. */
  resume?: boolean;
  /** `off`: no network device at all (see docs/networking.md). */
  networkPolicy: NetworkPolicy;
  /** allow_hosts patterns, validated (src/shared/network-policy.ts). */
  allowHosts: string[];
  /**
   * A workspace whose /workspace lives on its own volume (backends with `sealVolume`):
   * the boot attaches and mounts it. `resetTo` names a point (a snapshot, `baseline`) to
   * start from on a new empty top; null boots on the volume as it is (a new empty one when
   * there is none yet). Absent: /workspace is a directory of the root disk.
   */
  volume?: { resetTo: string | null };
}

export interface RuntimeCapabilities {
  vm_boot: boolean;
  guest_exec: boolean;
  guest_network: boolean;
  reason: string | null;
  /** Why guest_network is false, when the backend can say (pyro doctor shows it). */
  guest_network_reason?: string;
}

/**
 * A backend turns a SandboxSpec into a running agent reachable on a Unix socket, and can
 * tell whether that agent is still alive. Everything above this line (records, logs,
 * snapshots, diff) is backend-independent.
 */
export interface Backend {
  readonly name: BackendName;
  /** Reported to users as `execution_mode`. */
  readonly executionMode: string;
  /**
   * Whether archives sent to the sandbox should travel gzip'd: worth it across a
   * virtio-serial port (a tar of many small files is mostly padding), not on a local socket.
   */
  readonly compressesTransfers: boolean;
  capabilities(): RuntimeCapabilities;
  boot(spec: SandboxSpec): Promise<RuntimeRecord>;
  isAlive(runtime: RuntimeRecord): boolean;
  /**
   * A live sandbox whose guest is saved while idle (the QEMU backend's idle suspend): the
   * next call to its agent resumes it, so what can be known without one should not call.
   */
  isSuspended(runtime: RuntimeRecord): boolean;
  /** Why a sandbox that is no longer alive ended, when the backend knows (else null). */
  deathReason(runtime: RuntimeRecord, spec: SandboxSpec): Promise<string | null>;
  /** Stops the sandbox and everything in it; safe to call on a dead or half-booted one. */
  destroy(runtime: RuntimeRecord | null, spec: SandboxSpec): Promise<void>;
  /**
   * Stops the sandbox and everything running in it like destroy, but keeps its disk (the
   * workspace's files) for a later boot with `resume` (workspace_stop / workspace_start).
   */
  halt(runtime: RuntimeRecord | null, spec: SandboxSpec): Promise<void>;
  /**
   * Stops whatever a sandbox directory without a usable record still runs (a create that
   * was killed between boot and its first record write), found from files in the directory.
   */
  sweepOrphan(sandboxDir: string): Promise<void>;
  /**
   * The transfer disk of a running sandbox (see src/shared/transfer-disk.ts) and its lock
   * file, when the backend attaches one; bulk archives then bypass the agent's channel.
   */
  transferDisk?(sandboxDir: string): { disk: string; lock: string } | null;
  /**
   * The disk holding a guest's root filesystem (and /workspace), when the backend has one
   * and it is still there: what workspace_disk_* read of a stopped guest, without booting.
   */
  rootDisk?(sandboxDir: string): { path: string; format: "qcow2" | "raw" } | null;
  /**
   * Publishes a guest TCP port on 127.0.0.1 of the host (a free port when hostPort is
   * null); returns the host port. Only sandboxes booted with egress+published-ports.
   */
  publishPort?(sandboxDir: string, guestPort: number, hostPort: number | null): Promise<number>;
  /** Closes a published port (nothing if it is not open). */
  unpublishPort?(sandboxDir: string, hostPort: number): Promise<void>;
  /**
   * Workspace volumes (docs/qemu-backend.md, "Workspace volumes"): seals the running
   * sandbox's /workspace as the copy-on-write point `name` (no per-file work); returns the
   * layer's id and its allocated bytes.
   */
  sealVolume?(sandboxDir: string, name: string): Promise<{ layer: string; size_bytes: number }>;
  /**
   * Repairs what a killed operation left (a seal in flight, stray layers), drops points
   * not named in `live`, and removes layers nothing needs; returns the bytes of the layers
   * only snapshots keep. Call under the workspace's lock.
   */
  reconcileVolume?(sandboxDir: string, live: string[]): Promise<number>;
  /**
   * Fork: gives `targetDir` the point `point` of `sourceDir`'s volume (a snapshot name, or
   * null: a point sealed now from the running source) as shared read-only layers under a
   * new empty top, with the source's baseline point; a later boot of targetDir's spec with
   * `volume: { resetTo: null }` starts on it. Call under the source's lock.
   */
  cloneVolume?(sourceDir: string, point: string | null, targetDir: string): Promise<void>;
  /** The writable top of a stopped workspace's volume (what workspace_disk_* read). */
  workspaceVolume?(sandboxDir: string): { path: string; format: "qcow2" } | null;
}
