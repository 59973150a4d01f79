import type { Command } from "commander";

import { addJsonOption, runAction, withExample, type JsonOption } from "../output.js";

/** `pyro doctor`: what this host can run, and why. */
export function registerDoctorCommand(program: Command): void {
  withExample(
    addJsonOption(
      program
        .command("doctor")
        .description(
          "Report what this host can run: KVM (and PVM), qemu, usable backends and why not, environments, capabilities.",
        ),
    ),
    "pyro doctor",
    "pyro doctor --json",
  ).action((options: JsonOption) =>
    runAction(
      options,
      (manager) => manager.doctor(),
      async (report) => {
        const { renderDoctor } = await import("../../core/doctor.js");
        process.stdout.write(renderDoctor(report));
      },
    ),
  );
}
