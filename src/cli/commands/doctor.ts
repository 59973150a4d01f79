import type { Command } from "commander";

import { addJsonOption, runAction, withExample, type JsonOption } from "../output.js";

/** `pyro doctor`: what this host can run, and why. */
export function registerDoctorCommand(program: Command): void {
  withExample(
    addJsonOption(
      program
        .command("doctor")
        .description(
          "Report what this host can run: KVM (and PVM), qemu, usable backends and why not, environments, capabilities. With --environment, whether that environment is warm (cached, valid, and a recent `pyro prepare` by this pyro succeeded), cold (not cached) or stale (cached but outdated, invalid or not proven by this pyro).",
        )
        .option("--environment <name>", "report this environment's readiness: warm, cold or stale"),
    ),
    "pyro doctor",
    "pyro doctor --json",
    "pyro doctor --environment debian:12",
  ).action((options: JsonOption & { environment?: string }) => {
    const { environment } = options;
    if (environment !== undefined) {
      return runAction(
        options,
        (manager) => manager.environmentReadiness(environment),
        (report) =>
          process.stdout.write(`${report.environment} ${report.readiness}: ${report.reason}\n`),
      );
    }
    return runAction(
      options,
      (manager) => manager.doctor(),
      async (report) => {
        const { renderDoctor } = await import("../../core/doctor.js");
        process.stdout.write(renderDoctor(report));
      },
    );
  });
}
