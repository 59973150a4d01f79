import type { Command } from "commander";

import { flag, numberFlag } from "./output.js";

/** Flags shared by every command that creates a sandbox (run, workspace create). */
export function addSandboxOptions(command: Command, { timeout }: { timeout: boolean }): Command {
  command
    .option("--vcpu-count <n>", "virtual CPUs, 1-8 (default 1)", numberFlag)
    .option("--mem-mib <n>", "memory in MiB, 128-32768 (default 1024)", numberFlag);
  if (timeout)
    command.option(
      "--timeout-seconds <n>",
      "command timeout in seconds (default 30; exit code 124 when hit)",
      numberFlag,
    );
  return command
    .option(
      "--ttl-seconds <n>",
      "sandbox lifetime in seconds, 60-86400 (default 600); a workspace's idle timeout",
      numberFlag,
    )
    .option("--network", "request guest networking")
    .option(
      "--allow-host-compat",
      "where no guest can boot, run commands as plain host processes (NOT isolated)",
    );
}

export interface SandboxFlags {
  vcpuCount?: number | string;
  memMib?: number | string;
  timeoutSeconds?: number | string;
  ttlSeconds?: number | string;
  network?: boolean;
  allowHostCompat?: boolean;
  json?: boolean;
}

export function sandboxInput(options: SandboxFlags): Record<string, unknown> {
  return {
    vcpu_count: options.vcpuCount,
    mem_mib: options.memMib,
    ttl_seconds: options.ttlSeconds,
    network: flag(options.network),
    allow_host_compat: flag(options.allowHostCompat),
  };
}
