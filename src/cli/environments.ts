import type { Command } from "commander";

import type { Manager } from "../core/manager.js";
import { renderDoctor } from "../doctor.js";

/** What these commands need from the CLI around them. */
export interface CliContext {
  makeManager: () => Manager;
  /** Prints an error (JSON on stdout with --json, else on stderr) and sets exit code 1. */
  fail: (error: unknown, json: boolean) => void;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function mib(bytes: number | null): string {
  return bytes === null ? "-" : `${Math.round(bytes / (1024 * 1024))} MiB`;
}

async function withManager(
  context: CliContext,
  json: boolean,
  fn: (manager: Manager) => Promise<void>,
): Promise<void> {
  const manager = context.makeManager();
  try {
    await fn(manager);
  } catch (error) {
    context.fail(error, json);
  } finally {
    manager.close();
  }
}

/** `pyro env list | pull | inspect | prune` and `pyro doctor`. */
export function registerEnvironmentCommands(program: Command, context: CliContext): void {
  const env = program
    .command("env")
    .description("Manage guest environments (kernel + initramfs + rootfs images).")
    .addHelpText("after", "\nExample:\n  $ pyro env pull debian:12\n  $ pyro env list");

  env
    .command("list")
    .description("List the catalogue and what is pulled (digests checked).")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  $ pyro env list --json")
    .action(async (options: { json?: boolean }) => {
      await withManager(context, options.json === true, async (manager) => {
        const store = manager.context.backends.environments;
        const rows = await store.list({ full: true });
        if (options.json) {
          print({ cache_dir: store.cacheDir, environments: rows });
          return;
        }
        process.stdout.write(`cache: ${store.cacheDir}\n`);
        for (const row of rows) {
          const note = row.status === "installed" ? "" : ` (${row.reason ?? ""})`;
          process.stdout.write(
            `${row.name.padEnd(16)} ${row.status.padEnd(9)} ${mib(row.size_bytes).padStart(9)}  ${row.description}${note}\n`,
          );
        }
      });
    });

  env
    .command("pull")
    .description(
      "Build an environment from Debian packages into the cache (or repair it, or refresh its guest agent).",
    )
    .argument("<environment>", "debian:12, debian:12-base or debian:12-build")
    .option("--force", "rebuild even when the cached entry is valid")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  $ sudo pyro env pull debian:12")
    .action(async (name: string, options: { force?: boolean; json?: boolean }) => {
      await withManager(context, options.json === true, async (manager) => {
        const result = await manager.pullEnvironment(name, {
          force: options.force === true,
          onProgress: (event) =>
            process.stderr.write(
              `[${(event.progress ?? 0) + 1}/${event.total ?? "?"}] ${event.message}\n`,
            ),
        });
        if (options.json) print(result);
        else
          process.stdout.write(
            `${result.name}: ${result.action.replace("_", " ")} in ${(result.duration_ms / 1000).toFixed(1)} s at ${result.path}\n`,
          );
      });
    });

  env
    .command("inspect")
    .description("Show one environment's manifest and verify every digest.")
    .argument("<environment>", "environment name")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  $ pyro env inspect debian:12")
    .action(async (name: string, options: { json?: boolean }) => {
      await withManager(context, options.json === true, async (manager) => {
        const entry = await manager.inspectEnvironment(name);
        if (options.json) {
          print(entry);
          return;
        }
        const lines = [
          `name        ${entry.name} - ${entry.description}`,
          `status      ${entry.status}${entry.reason ? ` (${entry.reason})` : ""}`,
          `path        ${entry.path}`,
          `size        ${mib(entry.size_bytes)}`,
          `kernel      ${entry.kernel_version ?? "-"}`,
          `agent       ${entry.agent_version ?? "-"}${entry.agent_outdated ? " (outdated: the next boot or pull refreshes it)" : ""}`,
          `packages    ${Object.entries(entry.packages)
            .map(([pkg, version]) => `${pkg} ${version}`)
            .join(", ")}`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      });
    });

  env
    .command("prune")
    .description("Remove broken or stale entries, interrupted pulls and the download cache.")
    .option("--all", "remove every installed environment too")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  $ pyro env prune --all")
    .action(async (options: { all?: boolean; json?: boolean }) => {
      await withManager(context, options.json === true, async (manager) => {
        const result = await manager.pruneEnvironments({ all: options.all === true });
        if (options.json) print(result);
        else
          process.stdout.write(
            `removed: ${result.removed.join(", ") || "nothing"}; kept: ${result.kept.join(", ") || "nothing"}\n`,
          );
      });
    });

  program
    .command("doctor")
    .description("Report what this host can run: KVM, qemu, backends, environments.")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  $ pyro doctor --json")
    .action(async (options: { json?: boolean }) => {
      await withManager(context, options.json === true, async (manager) => {
        const report = await manager.doctor();
        if (options.json) print(report);
        else process.stdout.write(renderDoctor(report));
      });
    });
}
