import type { Command } from "commander";

import { addJsonOption, flag, runAction, withExample, type JsonOption } from "../output.js";

/** `pyro prepare [ENV]`: make an environment warm and prove it (src/core/prepare.ts). */
export function registerPrepareCommand(program: Command): void {
  const prepare = program
    .command("prepare")
    .description(
      "Get an environment ready for the daily loop: pull it when a guest backend will run it, then prove the warm loop on a throwaway workspace (create, exec, reset, delete), printing each step's time. `pyro doctor --environment ENV` then reports it warm.",
    )
    .argument("[environment]", "debian:12 (default), debian:12-base or debian:12-build")
    .option(
      "--allow-host-compat",
      "allow the loop to run as host processes when no guest can boot (host_compat)",
    );
  addJsonOption(prepare);
  withExample(prepare, "pyro prepare", "pyro prepare debian:12-build --json");
  prepare.action(
    (environment: string | undefined, options: JsonOption & { allowHostCompat?: boolean }) =>
      runAction(
        options,
        (manager) =>
          manager.prepareEnvironment(environment ?? "debian:12", {
            allow_host_compat: flag(options.allowHostCompat),
            // Steps go to stderr as they end: a pull or a first boot can take a while.
            onStep: (step, ms, note) =>
              process.stderr.write(
                `pyro: ${step.padEnd(6)} ${(ms / 1000).toFixed(2).padStart(7)} s${note ? `  ${note}` : ""}\n`,
              ),
          }),
        (result) =>
          process.stdout.write(
            `${result.environment} is ${result.readiness.readiness} on ${result.backend} (${result.execution_mode}): ` +
              `${Object.entries(result.timings_ms)
                .map(([step, ms]) => `${step} ${(ms / 1000).toFixed(2)} s`)
                .join(", ")}\n`,
          ),
      ),
  );
}
