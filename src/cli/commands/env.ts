import type { Command } from "commander";

import { addJsonOption, progressLine, runAction, withExample, type JsonOption } from "../output.js";

function mib(bytes: number | null): string {
  return bytes === null ? "-" : `${Math.round(bytes / (1024 * 1024))} MiB`;
}

/** `pyro env list | pull | inspect | prune`: the guest environment cache. */
export function registerEnvCommands(program: Command): void {
  const env = withExample(
    program
      .command("env")
      .description(
        "Manage guest environments (kernel + initramfs + rootfs images, built locally).",
      ),
    "sudo pyro env pull debian:12",
    "pyro env list",
  );
  registerListCommand(env);
  registerPullCommand(env);
  registerInspectCommand(env);
  registerPruneCommand(env);
}

function registerListCommand(env: Command): void {
  withExample(
    addJsonOption(
      env.command("list").description("List the catalogue and what is pulled (digests checked)."),
    ),
    "pyro env list --json",
  ).action((options: JsonOption) =>
    runAction(
      options,
      (manager) => manager.describeEnvironments(),
      (result) => {
        process.stdout.write(`cache: ${result.cache_dir}\n`);
        for (const row of result.environments) {
          const note = row.status === "installed" ? "" : ` (${row.reason ?? ""})`;
          process.stdout.write(
            `${row.name.padEnd(16)} ${row.status.padEnd(9)} ${mib(row.size_bytes).padStart(9)}  ${row.description}${note}\n`,
          );
        }
      },
    ),
  );
}

function registerPullCommand(env: Command): void {
  withExample(
    addJsonOption(
      env
        .command("pull")
        .description(
          "Build an environment from Debian packages into the cache, repair a broken one, or refresh its guest agent (needs root to build).",
        )
        .argument("<environment>", "debian:12, debian:12-base or debian:12-build")
        .option("--force", "rebuild even when the cached entry is valid"),
    ),
    "sudo pyro env pull debian:12",
  ).action((name: string, options: JsonOption & { force?: boolean }) => {
    const started = Date.now();
    return runAction(
      options,
      // A pull takes a minute: its phases always go to stderr, as progress.
      (manager) =>
        manager.pullEnvironment(name, {
          force: options.force === true,
          onProgress: (event) =>
            process.stderr.write(
              progressLine(
                started,
                event.message,
                `${(event.progress ?? 0) + 1}/${event.total ?? "?"}`,
              ),
            ),
        }),
      (result) =>
        process.stdout.write(
          `${result.name}: ${result.action.replace("_", " ")} in ${(result.duration_ms / 1000).toFixed(1)} s at ${result.path}\n`,
        ),
    );
  });
}

function registerInspectCommand(env: Command): void {
  withExample(
    addJsonOption(
      env
        .command("inspect")
        .description("Show one environment's manifest and verify every digest.")
        .argument("<environment>", "environment name"),
    ),
    "pyro env inspect debian:12",
  ).action((name: string, options: JsonOption) =>
    runAction(
      options,
      (manager) => manager.inspectEnvironment(name),
      (entry) => {
        const lines = [
          `name        ${entry.name}: ${entry.description}`,
          `status      ${entry.status}${entry.reason ? ` (${entry.reason})` : ""}`,
          `path        ${entry.path}`,
          `size        ${mib(entry.size_bytes)}`,
          `kernel      ${entry.kernel_version ?? "-"}`,
          `agent       ${entry.agent_version ?? "-"}${entry.agent_outdated ? " (another build: the next boot or pull refreshes it)" : ""}`,
          `packages    ${Object.entries(entry.packages)
            .map(([pkg, version]) => `${pkg} ${version}`)
            .join(", ")}`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      },
    ),
  );
}

function registerPruneCommand(env: Command): void {
  withExample(
    addJsonOption(
      env
        .command("prune")
        .description("Remove broken or stale entries, interrupted pulls and the download cache.")
        .option("--all", "remove every installed environment too"),
    ),
    "pyro env prune --all",
  ).action((options: JsonOption & { all?: boolean }) =>
    runAction(
      options,
      (manager) => manager.pruneEnvironments({ all: options.all === true }),
      (result) =>
        process.stdout.write(
          `removed: ${result.removed.join(", ") || "nothing"}; kept: ${result.kept.join(", ") || "nothing"}\n`,
        ),
    ),
  );
}
