/**
 * The host paths an MCP client may make pyro read (`seed_path`, `source_path`) or write
 * (`output_path`): only under the server's roots. The roots are the client's MCP `roots`
 * when it declares that capability (asked with roots/list, asked again after
 * notifications/roots/list_changed), else the configured list (`--allow-path`,
 * `PYRO_ALLOWED_PATHS`, `createServer({ allowedPaths })`), else the server's working
 * directory. Paths are compared after resolving symlinks, so a link inside a root that
 * points outside does not get through. The CLI and the SDK are not limited: their caller
 * chose the path; an MCP client is a model acting for someone.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { RootsListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

import { PyroError, ValidationError } from "../errors.js";

/** Every host path field of the catalogue, and whether pyro reads or creates it. */
export const HOST_PATH_FIELDS: Readonly<
  Record<string, Readonly<Record<string, "read" | "write">>>
> = {
  workspace_create: { seed_path: "read" },
  workspace_sync_push: { source_path: "read" },
  workspace_export: { output_path: "write" },
  workspace_disk_export: { output_path: "write" },
};

/** Host paths inside list items (`secrets[i].file_path`): read, under the roots too. */
const HOST_PATH_LIST_FIELDS: Readonly<Record<string, { list: string; field: string }>> = {
  workspace_create: { list: "secrets", field: "file_path" },
};

/** Configured roots and where they came from (named in refusals). */
export interface ConfiguredRoots {
  paths: string[];
  source: string;
}

/** `--allow-path` flags, else `PYRO_ALLOWED_PATHS` (colon-separated), else none. */
export function configuredRoots(
  flags: readonly string[] | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConfiguredRoots | undefined {
  if (flags && flags.length > 0) return { paths: [...flags], source: "--allow-path" };
  const fromEnv = (env.PYRO_ALLOWED_PATHS ?? "").split(":").filter((entry) => entry !== "");
  if (fromEnv.length > 0) return { paths: fromEnv, source: "PYRO_ALLOWED_PATHS" };
  return undefined;
}

/** Checks configured roots up front: each must be an existing directory. Returns realpaths. */
export async function resolveConfiguredRoots(roots: ConfiguredRoots): Promise<ConfiguredRoots> {
  const paths: string[] = [];
  for (const entry of roots.paths) {
    const real = await fs.realpath(path.resolve(entry)).catch(() => null);
    const stat = real ? await fs.stat(real).catch(() => null) : null;
    if (!real || !stat?.isDirectory()) {
      throw new ValidationError(
        `${roots.source} '${entry}' must be an existing directory${real ? "" : " (it does not exist)"}`,
        { field: roots.source, value: entry },
      );
    }
    paths.push(real);
  }
  return { paths, source: roots.source };
}

const ROOTS_TIMEOUT_MS = 10_000;

export class HostPathGuard {
  private clientRoots: Promise<string[]> | undefined;
  private configuredReal: Promise<ConfiguredRoots> | undefined;

  constructor(
    private readonly server: Server,
    private readonly configured: ConfiguredRoots | undefined,
  ) {
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
      this.clientRoots = undefined;
    });
  }

  /** The input with every host path replaced by its resolved form, or a refusal. */
  async check<Input extends Record<string, unknown>>(
    operation: string,
    input: Input,
  ): Promise<Input> {
    const fields = HOST_PATH_FIELDS[operation];
    if (!fields) return input;
    const checked: Record<string, unknown> = { ...input };
    for (const [field, access] of Object.entries(fields)) {
      const raw = input[field];
      // Absent or empty: the operation itself says what that means (or refuses it).
      if (typeof raw !== "string" || raw.trim() === "") continue;
      if (raw.includes("\0")) {
        throw new ValidationError(`${field} must not contain a NUL byte`, { field });
      }
      checked[field] = await this.allowed(field, raw, access);
    }
    const listField = HOST_PATH_LIST_FIELDS[operation];
    if (listField && Array.isArray(input[listField.list])) {
      checked[listField.list] = await Promise.all(
        (input[listField.list] as unknown[]).map(async (item, index) => {
          if (typeof item !== "object" || item === null) return item;
          const raw = (item as Record<string, unknown>)[listField.field];
          if (typeof raw !== "string") return item;
          const field = `${listField.list}[${index}].${listField.field}`;
          if (raw.includes("\0")) {
            throw new ValidationError(`${field} must not contain a NUL byte`, { field });
          }
          return { ...item, [listField.field]: await this.allowed(field, raw, "read") };
        }),
      );
    }
    return checked as Input;
  }

  private async roots(): Promise<{ paths: string[]; source: string }> {
    if (this.server.getClientCapabilities()?.roots) {
      this.clientRoots ??= this.listClientRoots();
      const pending = this.clientRoots;
      pending.catch(() => {
        if (this.clientRoots === pending) this.clientRoots = undefined; // ask again next time
      });
      return { paths: await pending, source: "the MCP client's roots" };
    }
    if (this.configured) {
      this.configuredReal ??= resolveConfiguredRoots(this.configured);
      return this.configuredReal;
    }
    return { paths: [await fs.realpath(process.cwd())], source: "the server's working directory" };
  }

  private async listClientRoots(): Promise<string[]> {
    let listed;
    try {
      listed = await this.server.listRoots(undefined, { timeout: ROOTS_TIMEOUT_MS });
    } catch (error) {
      throw new PyroError(
        "protocol_error",
        `the MCP client declares roots but roots/list failed: ${(error as Error).message}`,
        {},
        { cause: error },
      );
    }
    const paths: string[] = [];
    for (const root of listed.roots) {
      if (!root.uri.startsWith("file:")) continue; // only file roots name host paths
      try {
        paths.push(await realish(fileURLToPath(root.uri)));
      } catch {
        // A root that is not a valid file URL names no path.
      }
    }
    return paths;
  }

  private async allowed(field: string, raw: string, access: "read" | "write"): Promise<string> {
    const { paths, source } = await this.roots();
    const absolute = path.resolve(raw);
    const real = await realish(absolute, field, raw);
    if (paths.some((root) => isInside(root, real))) return real;
    const shown = real === absolute ? `'${raw}'` : `'${raw}' (resolves to '${real}')`;
    const list = paths.length > 0 ? paths.join(", ") : "none";
    throw new ValidationError(
      `${field} ${shown} is outside the allowed roots (${list}, from ${source}); the MCP server only ${access === "read" ? "reads" : "writes"} host paths under its roots: pass --allow-path or declare MCP roots`,
      { field, value: raw, allowed_roots: paths },
    );
  }
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return (
    relative === "" ||
    (relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}

/**
 * The real path of `absolute`, for a path that may not exist yet (an output_path): the
 * deepest existing ancestor is resolved and the rest appended. A symlink that cannot be
 * resolved (dangling, a loop) is refused: what it would lead to once created is unknown.
 */
async function realish(absolute: string, field = "path", raw = absolute): Promise<string> {
  const rest: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...rest.reverse());
    } catch {
      const stat = await fs.lstat(current).catch(() => null);
      if (stat?.isSymbolicLink()) {
        throw new ValidationError(
          `${field} '${raw}' goes through the symlink '${current}', which does not resolve (dangling or a loop)`,
          { field, value: raw },
        );
      }
      const parent = path.dirname(current);
      if (parent === current) return absolute;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}
