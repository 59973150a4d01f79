import { z } from "zod";

import { checkedSchema } from "../../shared/fast-check.js";
import { lazy } from "../../shared/lazy.js";

/**
 * What the backend hands the supervisor (written to runtime/supervisor.json). Checked by its
 * generated JSON schema first (src/shared/fast-check.ts): the supervisor starts on every
 * create, reset and fork, and building this schema loaded zod, 60-100 ms of its start.
 */
export const SupervisorConfigSchema = checkedSchema("record:SupervisorConfig", () =>
  z.object({
    qemu: z.string(),
    args: z.array(z.string()),
    /** qemu's end of the agent port (a chardev socket qemu listens on). */
    guest_socket: z.string(),
    /** Where host clients connect; appears only once the guest agent has answered. */
    client_socket: z.string(),
    console_log: z.string(),
    /** Written once the sandbox is up: {vmm_pid, vmm_pid_start_ticks, hello, boot_ms}. */
    ready_file: z.string(),
    /** Written when the VM ends for any reason: {reason, at, during_boot}. */
    exit_file: z.string(),
    /** Where the supervisor writes its own pid (before starting qemu) and qemu's. */
    supervisor_pid_file: z.string(),
    vmm_pid_file: z.string(),
    /**
     * When the runtime directory's path is too long for sun_path, qemu gets the directory
     * as this inherited descriptor and binds its socket as /proc/self/fd/<fd>/guest.sock.
     */
    runtime_dir_fd: z.number().int().nullable(),
    boot_timeout_ms: z.number().int().positive(),
    /** Epoch seconds: the supervisor stops the VM then, whoever else is gone. */
    expires_at: z.number(),
    /** A workspace's activity file: idle time and busy guests move the stop (idle-expiry.ts). */
    activity_file: z.string().nullable().optional(),
    /**
     * A guest with a network policy: the supervisor serves its egress proxy on
     * `proxy_socket`, one forwarder per allowed host-alias port, and logs refusals.
     */
    network: z
      .object({
        policy: z.string(),
        allow_hosts: z.array(z.string()),
        proxy_socket: z.string(),
        /** host.pyro.internal ports qemu forwards, each to its own socket (`forward_socket`). */
        forward_ports: z.array(z.number().int()),
        log_file: z.string(),
      })
      .nullable()
      .optional(),
    /**
     * Set when qemu restores a booted-guest template (`-incoming`): the guest is then given
     * fresh entropy, time and identity (`guest.refresh`) before any client can reach it.
     */
    restore: z
      .object({
        template_key: z.string(),
        sandbox_id: z.string(),
        /**
         * qemu waits (`-incoming defer`) until the supervisor, over this QMP socket, has
         * turned on `x-ignore-shared` (QEMU 7.2 has no option for it) and started the
         * migration from `incoming_uri`.
         */
        qmp_socket: z.string(),
        incoming_uri: z.string(),
        /**
         * The guest keeps its balloon: qemu preloads this guard (private-discard.ts), which
         * keeps a discard from punching `ram_file`, the template's RAM. The supervisor
         * checks that qemu has it mapped before the guest runs.
         */
        private_discard: z
          .object({ library: z.string(), ram_file: z.string() })
          .nullable()
          .default(null),
      })
      .nullable()
      .default(null),
    /** Mount the workspace volume at /workspace once the guest answers (volume-ops.ts). */
    mount_volume: z.boolean().optional(),
    /**
     * Suspend the guest after `after_ms` without a request from any client while nothing
     * runs in it (idle-suspend.ts): saved to `state_file` over `qmp_socket`, qemu exits, and
     * `marker_file` says so until the next client's connection resumes it.
     */
    suspend: z
      .object({
        after_ms: z.number().int().positive(),
        qmp_socket: z.string(),
        state_file: z.string(),
        marker_file: z.string(),
        /** qemu's drive id of the workspace volume, reopened on its current layer. */
        volume_drive: z.string(),
      })
      .nullable()
      .optional(),
  }),
);
export type SupervisorConfig = z.infer<ReturnType<typeof SupervisorConfigSchema>>;

export const ReadySchema = lazy(() =>
  z.object({
    vmm_pid: z.number().int(),
    vmm_pid_start_ticks: z.number().nullable(),
    agent_version: z.string(),
    boot_ms: z.number(),
    /** A restore from a template: what guest.refresh answered. */
    refresh: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
);

/** supervisor.pid and vmm.pid: a pid with its /proc start time. */
export const PidFileSchema = lazy(() =>
  z.object({
    pid: z.number().int(),
    start_ticks: z.number().nullable(),
  }),
);

/** runtime/suspended.json: the guest is saved to `state_file` and no qemu runs. */
export const SuspendMarkerSchema = lazy(() =>
  z.object({
    state_file: z.string(),
    /** The layer qemu wrote the workspace volume to (a seal may have switched it). */
    volume_file: z.string().nullable(),
    state_bytes: z.number().int(),
    suspended_at: z.number(),
  }),
);
export type SuspendMarker = z.infer<ReturnType<typeof SuspendMarkerSchema>>;

export const ExitSchema = lazy(() =>
  z.object({
    reason: z.string(),
    at: z.number(),
    during_boot: z.boolean(),
  }),
);
export type VmExit = z.infer<ReturnType<typeof ExitSchema>>;

/** The last lines of the guest console: what a user needs to see when a boot fails. */
export function consoleTail(text: string, lines = 15): string {
  const cleaned = text.replace(/\r/g, "").trimEnd();
  if (!cleaned) return "(the guest console is empty)";
  return cleaned.split("\n").slice(-lines).join("\n");
}
