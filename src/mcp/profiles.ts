/**
 * MCP tool profiles (pyro-mcp 3.4/4.0): which catalogue operations `pyro mcp serve` offers a
 * model, and which input fields it hides from them. A model with fewer, narrower tools picks
 * the right one more often; the CLI and SDK always have the whole catalogue.
 *
 * - `vm-run`: only `vm_run` (one command in a throwaway sandbox).
 * - `workspace-core` (the default, as in pyro-mcp 4.0): the daily workspace loop.
 * - `workspace-full`: every catalogue operation with its full schema.
 */
import { ValidationError } from "../errors.js";
import { operations, type AnyOperation } from "../operations/index.js";

export const PROFILE_NAMES = ["vm-run", "workspace-core", "workspace-full"] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];
export const DEFAULT_PROFILE: ProfileName = "workspace-core";

interface ProfileDefinition {
  /** Tool names in the order they are listed; null means the whole catalogue. */
  tools: readonly string[] | null;
  /** Input fields hidden from (and refused in) a tool's calls, by tool name. */
  omit: Readonly<Record<string, readonly string[]>>;
}

const PROFILES: Record<ProfileName, ProfileDefinition> = {
  "vm-run": { tools: ["vm_run"], omit: {} },
  "workspace-core": {
    tools: [
      "workspace_create",
      "workspace_list",
      "workspace_status",
      "workspace_exec",
      // workspace_exec leaves a command running past wait_seconds (over MCP 50 s) and tells
      // the model to follow it with these; without them a long build would be lost.
      "command_status",
      "command_read",
      "command_wait",
      "command_kill",
      "workspace_sync_push",
      "workspace_file_list",
      "workspace_file_read",
      "workspace_file_write",
      "workspace_patch_apply",
      "workspace_diff",
      "workspace_export",
      "workspace_reset",
      "workspace_delete",
      "workspace_summary",
    ],
    // pyro-mcp narrows core's schemas: no secrets, network policy, shells, services,
    // snapshots or disk fields (shells, services, snapshots and disk are not core tools).
    omit: {
      workspace_create: ["network", "network_policy", "allow_hosts", "secrets"],
      workspace_exec: ["secret_env"],
      // Core has no snapshot tools, so reset always restores the baseline.
      workspace_reset: ["snapshot"],
    },
  },
  "workspace-full": { tools: null, omit: {} },
};

/** Every hidden field of a profile, as `operation.field`, whether the catalogue has it or not. */
export function profileOmissions(profile: ProfileName): string[] {
  return Object.entries(PROFILES[profile].omit).flatMap(([name, fields]) =>
    fields.map((field) => `${name}.${field}`),
  );
}

/** A catalogue operation as one profile offers it. */
export interface ProfileTool {
  operation: AnyOperation;
  /** Input fields this profile hides; a call that sets one is refused. */
  omitted: readonly string[];
}

/** The profile's name, checked: an unknown one is an invalid_argument naming the choices. */
export function checkProfile(raw: unknown): ProfileName {
  const value = raw ?? DEFAULT_PROFILE;
  if (typeof value === "string" && (PROFILE_NAMES as readonly string[]).includes(value)) {
    return value as ProfileName;
  }
  throw new ValidationError(
    `profile must be one of ${PROFILE_NAMES.join(", ")}; got ${JSON.stringify(value)}`,
    { field: "profile", value },
  );
}

/** The names a profile lists (the whole catalogue for workspace-full). */
export function profileToolNames(profile: ProfileName): readonly string[] {
  return PROFILES[profile].tools ?? operations.map((operation) => operation.name);
}

/**
 * The tools a profile offers, with their hidden fields. Every name and hidden field is a
 * catalogue one (test/mcp-profiles.test.ts), so a lookup that fails is a bug of this table.
 */
export function profileTools(profile: ProfileName): ProfileTool[] {
  const definition = PROFILES[profile];
  return profileToolNames(profile).map((name) => {
    const operation = operations.find((each) => each.name === name);
    if (!operation) throw new Error(`MCP profile ${profile} names no operation '${name}'`);
    return { operation, omitted: definition.omit[name] ?? [] };
  });
}

/** Refuses a call that sets a field its profile hides, naming the profile that has it. */
export function checkOmitted(
  profile: ProfileName,
  tool: ProfileTool,
  args: Record<string, unknown>,
): void {
  const field = tool.omitted.find((name) => args[name] !== undefined);
  if (field === undefined) return;
  throw new ValidationError(
    `${tool.operation.name}: ${field}: not offered by the MCP profile ${profile} (serve with --profile workspace-full to use it)`,
    { field, profile },
  );
}
