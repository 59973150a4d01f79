import type { ManagerContext } from "./context.js";

/** The catalogue, with what is pulled into the cache (quick check: sizes and stamps). */
export async function listEnvironments(context: ManagerContext, cacheDir: string) {
  const rows = await context.backends.environments.list({ full: false });
  return {
    backend: context.backends.selection,
    cache_dir: cacheDir,
    environments: rows.map((row) => ({
      name: row.name,
      description: row.description,
      installed: row.installed,
      status: row.status,
    })),
  };
}
