import { z } from "zod";

import { ENVIRONMENTS, LIMITS } from "../shared/limits.js";
import { lazyProperties } from "../shared/lazy.js";
import { intBetween, oneOf, positiveUpTo } from "./rules.js";

/**
 * Reusable, documented input fields. Ranges, defaults and closed sets are part of the
 * schema (rules.ts), so clients see them in the JSON schema and a bad value is refused
 * with the manager's wording before anything runs; the manager keeps its own checks for
 * callers of the library that bypass the catalogue. Each is built on first use (src/shared/lazy.ts).
 */
export const fields = lazyProperties({
  environment: () => oneOf(ENVIRONMENTS).default("debian:12"),
  vcpu_count: () =>
    intBetween(LIMITS.vcpuCount.min, LIMITS.vcpuCount.max).default(LIMITS.vcpuCount.default),
  mem_mib: () => intBetween(LIMITS.memMib.min, LIMITS.memMib.max).default(LIMITS.memMib.default),
  ttl_seconds: () =>
    intBetween(LIMITS.ttlSeconds.min, LIMITS.ttlSeconds.max).default(LIMITS.ttlSeconds.default),
  timeout_seconds: () =>
    positiveUpTo(LIMITS.timeoutSeconds.max)
      .default(LIMITS.timeoutSeconds.default)
      .describe("Seconds; exit_code 124 on expiry."),
  network: () =>
    z.boolean().describe("Egress to any public host (guest backends only).").optional(),
  allow_host_compat: () =>
    z
      .boolean()
      .describe("Run commands as host processes (NOT isolated) if no guest can boot.")
      .optional(),
  command: () => z.string().describe("Run by /bin/sh -c."),
  // Ids carry no description: listed in every tool, it would cost more than it says (a
  // workspace's name works wherever its id does: the server's instructions say so).
  vm_id: () => z.string(),
  workspace_id: () => z.string(),
  snapshot_name: () => z.string(),
  secret_env: () =>
    z
      .record(z.string(), z.string())
      .describe("{ENV_NAME: SECRET_NAME}: secrets as variables.")
      .optional(),
  max_lifetime_seconds: () =>
    intBetween(60, 2_592_000)
      .describe("Hard expiry in seconds from creation (default none).")
      .optional(),
});
