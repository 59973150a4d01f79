import { z } from "zod";

/** Reusable, documented input fields. Ranges are enforced by the manager (one wording). */
export const fields = {
  environment: z
    .string()
    .describe("Environment name: debian:12, debian:12-base or debian:12-build.")
    .optional(),
  vcpu_count: z.number().int().describe("Virtual CPUs, 1-8 (default 1).").optional(),
  mem_mib: z.number().int().describe("Memory in MiB, 128-32768 (default 1024).").optional(),
  ttl_seconds: z.number().int().describe("Lifetime in seconds, 60-86400 (default 600).").optional(),
  timeout_seconds: z
    .number()
    .describe("Command timeout in seconds (default 30); on expiry exit_code is 124.")
    .optional(),
  network: z
    .boolean()
    .describe(
      "Guest networking: true is network_policy egress with any public host (outbound TCP through pyro's egress proxy; guest backends only, refused on the host backend).",
    )
    .optional(),
  allow_host_compat: z
    .boolean()
    .describe(
      "Allow running commands as plain host processes when no guest can boot (host_compat).",
    )
    .optional(),
  command: z.string().describe("Shell command, run with /bin/sh -c."),
  vm_id: z.string().describe("VM id returned by vm_create."),
  workspace_id: z.string().describe("Workspace id, or its unique name."),
  snapshot_name: z.string().describe("Snapshot name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$."),
  secret_env: z
    .record(z.string(), z.string())
    .describe(
      "Workspace secrets to put in the environment: {ENV_NAME: SECRET_NAME}. Their values are redacted as [REDACTED:NAME] from all output.",
    )
    .optional(),
  max_lifetime_seconds: z
    .number()
    .int()
    .describe(
      "Hard expiry in seconds counted from creation, 60-2592000, whatever the activity (default none).",
    )
    .optional(),
};
