import type { Command } from "commander";

import { addSecretEnvOption, parseFlags, secretEnvFromFlags } from "../secret-flags.js";
import { collect, parseEnv } from "./command.js";

import { ValidationError } from "../../errors.js";
import {
  addJsonOption,
  numberFlag,
  printCommandOutput,
  runOperation,
  withExample,
  type JsonOption,
} from "../output.js";
import { shellQuote } from "../quote.js";

interface ReadinessFlags {
  readyFile?: string;
  readyTcp?: string;
  readyHttp?: string;
  readyCommand?: string;
}

/** At most one --ready-* flag; it becomes the operation's `readiness` object. */
function readinessFrom(flags: ReadinessFlags): Record<string, string> | undefined {
  const candidates: Array<Record<string, string> | null> = [
    flags.readyFile === undefined ? null : { type: "file", path: flags.readyFile },
    flags.readyTcp === undefined ? null : { type: "tcp", address: flags.readyTcp },
    flags.readyHttp === undefined ? null : { type: "http", url: flags.readyHttp },
    flags.readyCommand === undefined ? null : { type: "command", command: flags.readyCommand },
  ];
  const given = candidates.filter((item) => item !== null);
  if (given.length > 1) {
    throw new ValidationError(
      "readiness: give at most one of --ready-file, --ready-tcp, --ready-http, --ready-command",
      { field: "readiness" },
    );
  }
  return given[0];
}

/** `pyro workspace service …`: named long-running commands with readiness checks. */
export function registerServiceCommands(workspace: Command): void {
  const service = workspace
    .command("service")
    .description("Named long-running services in a workspace (start, list, status, logs, stop).");
  withExample(
    service,
    "pyro workspace service start WORKSPACE_ID web --ready-tcp 127.0.0.1:8000 -- python3 -m http.server 8000",
  );

  const start = service
    .command("start")
    .description(
      "Start a named command; with a --ready-* check it is 'running' once ready, 'failed' if it exits or times out first.",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<name>", "service name, ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    .argument("<command...>", "command and arguments, after -- (re-quoted for the guest shell)")
    .option("--cwd <path>", "directory under /workspace (default /workspace)")
    .option("--ready-file <path>", "ready when this file exists (relative to --cwd)")
    .option("--ready-tcp <host:port>", "ready when this address accepts connections")
    .option("--ready-http <url>", "ready when this URL answers 2xx or 3xx")
    .option("--ready-command <cmd>", "ready when this command exits 0")
    .option(
      "--ready-timeout-seconds <n>",
      "how long to wait for readiness (default 30)",
      numberFlag,
    )
    .option("--ready-interval-ms <n>", "time between readiness probes (default 500)", numberFlag)
    .option("--env <NAME=VALUE>", "environment variable (repeatable)", collect, [])
    .option(
      "--publish <[HOST_PORT:]GUEST_PORT>",
      "publish a guest port on 127.0.0.1 of the host (repeatable; needs --network-policy egress+published-ports)",
      collect,
      [],
    );
  addJsonOption(addSecretEnvOption(start));
  withExample(
    start,
    "pyro workspace service start WORKSPACE_ID web --ready-http http://127.0.0.1:8000/ -- python3 -m http.server 8000",
  );
  start.action(
    async (
      id: string,
      name: string,
      words: string[],
      options: JsonOption &
        ReadinessFlags & {
          cwd?: string;
          readyTimeoutSeconds?: number;
          readyIntervalMs?: number;
          env?: string[];
          secretEnv?: string[];
          publish: string[];
        },
    ) => {
      const secretEnv = parseFlags(options, () => secretEnvFromFlags(options.secretEnv));
      if (!secretEnv) return;
      await runOperation(
        "service_start",
        {
          workspace_id: id,
          service_name: name,
          command: shellQuote(words),
          cwd: options.cwd,
          readiness: readinessFrom(options),
          ready_timeout_seconds: options.readyTimeoutSeconds,
          ready_interval_ms: options.readyIntervalMs,
          env: parseEnvFlags(options.env),
          secret_env: secretEnv.value,
          published_ports: publishFlags(options.publish),
        },
        options,
      );
    },
  );

  const list = service
    .command("list")
    .description("List the workspace's services and their states.")
    .argument("<workspace_id>", "workspace id");
  addJsonOption(list);
  withExample(list, "pyro workspace service list WORKSPACE_ID");
  list.action((id: string, options: JsonOption) =>
    runOperation("service_list", { workspace_id: id }, options),
  );

  for (const [verb, operation, description] of [
    [
      "status",
      "service_status",
      "Show one service: state, pid, readiness, exit code, stop reason.",
    ],
    ["stop", "service_stop", "Stop a service: SIGTERM, then SIGKILL after a grace period."],
  ] as const) {
    const command = service
      .command(verb)
      .description(description)
      .argument("<workspace_id>", "workspace id")
      .argument("<name>", "service name");
    addJsonOption(command);
    withExample(command, `pyro workspace service ${verb} WORKSPACE_ID web`);
    command.action((id: string, name: string, options: JsonOption) =>
      runOperation(operation, { workspace_id: id, service_name: name }, options),
    );
  }

  const logs = service
    .command("logs")
    .description(
      "Print a service's stdout and stderr (last 200 lines unless --tail-lines or --all).",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<name>", "service name")
    .option("--tail-lines <n>", "last N lines (default 200)", numberFlag)
    .option("--all", "everything kept");
  addJsonOption(logs);
  withExample(logs, "pyro workspace service logs WORKSPACE_ID web --tail-lines 50");
  logs.action(
    (id: string, name: string, options: JsonOption & { tailLines?: number; all?: boolean }) =>
      runOperation(
        "service_logs",
        {
          workspace_id: id,
          service_name: name,
          tail_lines: options.tailLines,
          all: options.all === true ? true : undefined,
        },
        options,
        printCommandOutput,
      ),
  );
}

/**
 * `--publish [HOST_PORT:]GUEST_PORT`. A value that is not numeric goes through as NaN, so
 * the catalogue refuses it with the message MCP and the SDK give.
 */
function publishFlags(values: string[]): { guest_port: number; host_port?: number }[] | undefined {
  if (values.length === 0) return undefined;
  return values.map((value) => {
    const parts = value.split(":");
    const number = (text: string | undefined): number =>
      text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
    if (parts.length === 2) return { host_port: number(parts[0]), guest_port: number(parts[1]) };
    return { guest_port: parts.length === 1 ? number(parts[0]) : Number.NaN };
  });
}

/** A malformed --env is reported by the catalogue with the same message as over MCP. */
function parseEnvFlags(pairs: string[] | undefined): Record<string, string> | string | undefined {
  try {
    return parseEnv(pairs ?? []);
  } catch {
    return (pairs ?? []).find((pair) => pair.indexOf("=") <= 0);
  }
}
