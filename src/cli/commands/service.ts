import type { Command } from "commander";

import { addSecretEnvOption, parseFlags, secretEnvFromFlags } from "../secret-flags.js";
import { collect, parseEnv } from "./command.js";

import { ValidationError } from "../../errors.js";
import {
  addedText,
  isGone,
  lastLines,
  pause,
  POLL_MS,
  runFollow,
  type FollowCall,
} from "../follow.js";
import {
  addJsonOption,
  EXIT_ERROR,
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

interface StartFlags extends JsonOption, ReadinessFlags {
  cwd?: string;
  readyTimeoutSeconds?: number;
  readyIntervalMs?: number;
  env?: string[];
  secretEnv?: string[];
  publish: string[];
}

interface LogsFlags extends JsonOption {
  tailLines?: number;
  all?: boolean;
  follow?: boolean;
}

/** The fields of a service result the CLI looks at. */
interface ServiceView {
  service_name: string;
  state: string;
  failure_reason?: string | null;
  stdout?: string;
  stderr?: string;
}

/** States in which a service may still print. */
const LIVE_STATES = new Set(["starting", "running"]);

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
  registerStartCommand(service);
  registerListCommand(service);
  registerNamedCommands(service);
  registerLogsCommand(service);
}

function registerStartCommand(service: Command): void {
  const start = service
    .command("start")
    .description(
      "Start a named command; with a --ready-* check it is 'running' once ready, 'failed' if it exits or times out first. Exits 1 when the service failed or already exited.",
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
  start.action(startService);
}

async function startService(
  id: string,
  name: string,
  words: string[],
  options: StartFlags,
): Promise<void> {
  const secretEnv = parseFlags(options, () => secretEnvFromFlags(options.secretEnv));
  if (!secretEnv) return;
  await runOperation<ServiceView>(
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
    undefined,
    (result) => startExitStatus(id, result),
  );
}

/**
 * A service that failed its readiness check or has already exited did not start: exit 1
 * (with or without --json), and say where its output is.
 */
function startExitStatus(id: string, result: ServiceView): number {
  if (LIVE_STATES.has(result.state)) return 0;
  const reason = result.failure_reason ? `: ${result.failure_reason}` : "";
  process.stderr.write(
    `pyro: service ${result.service_name} ${result.state}${reason}; its output: pyro workspace service logs ${id} ${result.service_name}\n`,
  );
  return EXIT_ERROR;
}

function registerListCommand(service: Command): void {
  const list = service
    .command("list")
    .description("List the workspace's services and their states.")
    .argument("<workspace_id>", "workspace id");
  addJsonOption(list);
  withExample(list, "pyro workspace service list WORKSPACE_ID");
  list.action((id: string, options: JsonOption) =>
    runOperation("service_list", { workspace_id: id }, options),
  );
}

/** `status` and `stop`: one service by name. */
function registerNamedCommands(service: Command): void {
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
}

function registerLogsCommand(service: Command): void {
  const logs = service
    .command("logs")
    .description(
      "Print a service's stdout and stderr (last 200 lines unless --tail-lines or --all); --follow keeps printing until the service ends or Ctrl-C.",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<name>", "service name")
    .option("--tail-lines <n>", "last N lines (default 200)", numberFlag)
    .option("--all", "everything kept")
    .option("-f, --follow", "keep printing new output until the service ends (or Ctrl-C)");
  addJsonOption(logs);
  withExample(
    logs,
    "pyro workspace service logs WORKSPACE_ID web --tail-lines 50",
    "pyro workspace service logs WORKSPACE_ID web --follow",
  );
  logs.action((id: string, name: string, options: LogsFlags) => {
    if (options.follow === true) {
      return runFollow(options, (call, cancelled) =>
        followServiceLogs(call, cancelled, id, name, options),
      );
    }
    return runOperation(
      "service_logs",
      {
        workspace_id: id,
        service_name: name,
        tail_lines: options.tailLines,
        all: options.all === true ? true : undefined,
      },
      options,
      printCommandOutput,
    );
  });
}

/**
 * Prints the tail the flags ask for, then what each read of the whole kept log adds, until
 * the service is no longer starting or running (its last output printed) or is gone.
 */
async function followServiceLogs(
  call: FollowCall,
  cancelled: AbortSignal,
  id: string,
  name: string,
  options: LogsFlags,
): Promise<number> {
  const input = { workspace_id: id, service_name: name, all: true };
  const first = await call<ServiceView>("service_logs", input);
  if (first === null) return 0;
  const tail = options.all === true ? undefined : (options.tailLines ?? 200);
  let seen = { stdout: first.stdout ?? "", stderr: first.stderr ?? "" };
  printCommandOutput({
    stdout: lastLines(seen.stdout, tail),
    stderr: lastLines(seen.stderr, tail),
  });
  let state = first.state;
  while (LIVE_STATES.has(state)) {
    await pause(POLL_MS, cancelled);
    let next: ServiceView | null;
    try {
      next = await call<ServiceView>("service_logs", input);
    } catch (error) {
      if (isGone(error)) return 0;
      throw error;
    }
    if (next === null) return 0;
    const now = { stdout: next.stdout ?? "", stderr: next.stderr ?? "" };
    printCommandOutput({
      stdout: addedText(seen.stdout, now.stdout),
      stderr: addedText(seen.stderr, now.stderr),
    });
    seen = now;
    state = next.state;
  }
  process.stderr.write(`pyro: service ${name} ${state}\n`);
  return 0;
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
