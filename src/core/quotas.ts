import { PyroError, ValidationError } from "../errors.js";

/**
 * Per-workspace quotas (docs/security.md, "Limits and quotas"). Each has a documented
 * default and an environment variable that raises or lowers it for the process that runs
 * the operation (CLI, SDK or MCP server), read at every call.
 */
interface Quota {
  /** Environment variable that overrides the default. */
  env: string;
  default: number;
  /** What is limited, for messages: "expanded size of a seed or push archive". */
  what: string;
  unit: "bytes" | "count";
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export const QUOTAS = {
  /** Sum of the regular file sizes inside a seed or sync push archive (after gunzip). */
  archiveBytes: {
    env: "PYRO_MAX_ARCHIVE_BYTES",
    default: 2 * GIB,
    what: "expanded size of a seed or push archive",
    unit: "bytes",
  },
  /** Members of a seed or sync push archive. */
  archiveEntries: {
    env: "PYRO_MAX_ARCHIVE_ENTRIES",
    default: 200_000,
    what: "members of a seed or push archive",
    unit: "count",
  },
  /** Named snapshots one workspace may keep (the baseline does not count). */
  snapshotCount: {
    env: "PYRO_MAX_SNAPSHOTS",
    default: 64,
    what: "named snapshots per workspace",
    unit: "count",
  },
  /** Disk used by one workspace's named snapshot archives together. */
  snapshotBytes: {
    env: "PYRO_MAX_SNAPSHOT_BYTES",
    default: 4 * GIB,
    what: "disk used by a workspace's snapshots",
    unit: "bytes",
  },
  /** Command log on disk: commands.jsonl plus one rotated file, together. */
  commandLogBytes: {
    env: "PYRO_MAX_COMMAND_LOG_BYTES",
    default: 16 * MIB,
    what: "disk used by a workspace's command log",
    unit: "bytes",
  },
} as const satisfies Record<string, Quota>;

/** The quota's value: its environment variable when set, else its default. */
export function quotaValue(quota: Quota, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[quota.env];
  if (raw === undefined || raw.trim() === "") return quota.default;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(
      `${quota.env} must be a positive integer (${quota.unit}), got '${raw}'`,
      { field: quota.env, value: raw },
    );
  }
  return value;
}

/** "2147483648 bytes (2 GiB)" — exact for scripts, rounded for people. */
function describeAmount(quota: Quota, value: number): string {
  if (quota.unit === "count") return String(value);
  const human =
    value >= GIB
      ? `${+(value / GIB).toFixed(2)} GiB`
      : value >= MIB
        ? `${+(value / MIB).toFixed(2)} MiB`
        : `${+(value / 1024).toFixed(2)} KiB`;
  return `${value} bytes (${human})`;
}

/**
 * The error for a quota that a request would exceed: names the limit, its value, what was
 * asked for, and how to get more (`remedy`, plus the environment variable).
 */
export function quotaError(
  quota: Quota,
  limit: number,
  detail: string,
  remedy: string | null,
  details: Record<string, unknown> = {},
): PyroError {
  const how = [remedy, `raise the limit with ${quota.env}`].filter(Boolean).join(", or ");
  return new PyroError(
    "limit_exceeded",
    `${quota.what} limit exceeded: ${detail}; the limit is ${describeAmount(quota, limit)} (${how})`,
    { limit: quota.env, max: limit, ...details },
  );
}
