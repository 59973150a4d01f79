/**
 * Named long-running services, owned by the agent. Each service is `/bin/sh -c COMMAND`
 * in its own session (and so its own process group), marked with a PYRO_OWNER token that
 * its descendants inherit (see killOwned), its stdout/stderr piped through the
 * agent into size-capped log files in the agent's private state dir (outside /workspace,
 * so diff and export never see them), and its readiness probed from inside the sandbox.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { NotFoundError, PyroError, StateError, ValidationError } from "../errors.js";
import { checkName } from "../shared/limits.js";
import type { AgentContext } from "./context.js";
import { numberField, stringField } from "./context.js";
import { sessionPrefix } from "./exec.js";
import { readProcStat } from "../process/process-group.js";
import { normalizeReadiness, type Readiness } from "../shared/readiness.js";
import { probeReadiness } from "./readiness.js";
import {
  killOwned,
  newOwnerToken,
  ownerEnv,
  ownerMarker,
  type Owner,
} from "../process/ownership.js";
import { sleep } from "../process/process-group.js";
import { redactingLogStream } from "./secrets.js";
import { LogSink, tailText } from "./service-log.js";

const STOP_GRACE_MS = 3_000;
/** Teardown (agent shutdown, workspace delete/reset) waits less: the sandbox is going away. */
const TEARDOWN_GRACE_MS = 1_000;
const MAX_SERVICES = 32;

type ServiceState = "starting" | "running" | "exited" | "stopped" | "failed";

interface Service {
  name: string;
  command: string;
  cwd: string;
  readiness: Readiness | null;
  state: ServiceState;
  pid: number;
  pidStartTicks: number | null;
  /** PYRO_OWNER of every process the service starts (see killOwned). */
  token: string;
  startedAt: number;
  readyAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  exitSignal: string | null;
  stopReason: string | null;
  failureReason: string | null;
  /** Bumped on every change, so host-side mirrors can ignore an older snapshot. */
  revision: number;
  child: ChildProcess;
  logs: { stdout: LogSink; stderr: LogSink };
  /** Set while a stop is in progress, so concurrent stops share one. */
  stopping: Promise<void> | null;
  /** Set when the main process ended on its own: the sweep of what it left behind. */
  reaping: Promise<unknown> | null;
}

export class ServiceRegistry {
  private readonly services = new Map<string, Service>();

  constructor(private readonly context: AgentContext) {}

  register(): void {
    const { handlers } = this.context;
    handlers.set("service.start", ({ body }) => this.start(body));
    handlers.set("service.list", async () => this.list());
    handlers.set("service.status", async ({ body }) => describe(this.lookup(body)));
    handlers.set("service.logs", async ({ body }) => this.logs(body));
    handlers.set("service.stop", async ({ body }) => {
      const service = this.lookup(body);
      await this.stop(service, "stop", STOP_GRACE_MS);
      return describe(service);
    });
    handlers.set("service.stop_all", async ({ body }) => {
      const stopped = await this.stopAll(body.remove === true);
      return { stopped_count: stopped.length, services: stopped.map(describe) };
    });
    this.context.cleanups.push(async () => {
      await this.stopAll(true);
    });
  }

  private get logRoot(): string {
    return path.join(this.context.stateDir, "services");
  }

  private async start(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const name = checkName("service_name", stringField(body, "service_name") ?? "");
    const command = stringField(body, "command") ?? "";
    if (command.trim() === "")
      throw new ValidationError("command must not be empty", { field: "command" });
    const cwd = this.context.paths.resolve(stringField(body, "cwd") ?? "/workspace", "cwd");
    if (!fs.statSync(cwd.local, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ValidationError(`cwd does not exist or is not a directory: '${cwd.guest}'`, {
        field: "cwd",
      });
    }
    const readiness = normalizeReadiness(body.readiness ?? null, cwd.guest);
    const timeoutMs = positive(body, "ready_timeout_seconds", 30) * 1000;
    const intervalMs = positive(body, "ready_interval_ms", 500);

    const previous = this.services.get(name);
    if (previous && (previous.state === "starting" || previous.state === "running")) {
      throw new StateError(`service '${name}' is already ${previous.state}; stop it first`, {
        service_name: name,
        state: previous.state,
      });
    }
    if (!previous && this.services.size >= MAX_SERVICES) {
      throw new PyroError(
        "limit_exceeded",
        `a workspace may have at most ${MAX_SERVICES} services; stopped ones are replaced by name`,
        { limit: "services", max: MAX_SERVICES },
      );
    }
    // A finished record of the same name is replaced, logs included.
    previous?.logs.stdout.destroy();
    previous?.logs.stderr.destroy();
    const logDir = path.join(this.logRoot, name);
    fs.rmSync(logDir, { recursive: true, force: true });
    fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });

    const token = newOwnerToken();
    const child = spawn("/bin/sh", ["-c", `${sessionPrefix()}${command}`], {
      cwd: cwd.local,
      detached: true, // setsid: the service is its own session and process group
      stdio: ["ignore", "pipe", "pipe"],
      // The owner marks come last: a service's env cannot hide it from the sweeps.
      env: { ...process.env, ...stringRecord(body.env), ...ownerEnv(this.context.stateDir, token) },
    });
    const logs = {
      stdout: new LogSink(path.join(logDir, "stdout.log")),
      stderr: new LogSink(path.join(logDir, "stderr.log")),
    };
    child.stdout?.pipe(redactingLogStream()).pipe(logs.stdout);
    child.stderr?.pipe(redactingLogStream()).pipe(logs.stderr);
    const pid = child.pid ?? 0;
    const service: Service = {
      name,
      command,
      cwd: cwd.guest,
      readiness,
      state: "starting",
      pid,
      pidStartTicks: pid > 0 ? (readProcStat(pid)?.startTicks ?? null) : null,
      token,
      startedAt: Date.now() / 1000,
      readyAt: null,
      endedAt: null,
      exitCode: null,
      exitSignal: null,
      stopReason: null,
      failureReason: null,
      revision: (previous?.revision ?? 0) + 1,
      child,
      logs,
      stopping: null,
      reaping: null,
    };
    this.services.set(name, service);
    child.once("error", (error) => this.onExit(service, null, null, error.message));
    child.once("exit", (code, signal) => this.onExit(service, code, signal, null));

    await this.awaitReadiness(service, cwd.local, timeoutMs, intervalMs);
    // A service that died before it was ready leaves no helpers behind when we answer.
    await service.reaping;
    return describe(service);
  }

  private async awaitReadiness(
    service: Service,
    cwdLocal: string,
    timeoutMs: number,
    intervalMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (service.state !== "starting") return; // exited (onExit marked it failed) or stopped
      const ready =
        service.readiness === null ||
        (await probeReadiness(service.readiness, { paths: this.context.paths, cwdLocal }));
      // Re-check: the process may have died while the probe ran.
      if (service.state !== "starting") return;
      if (ready) {
        service.state = "running";
        service.readyAt = Date.now() / 1000;
        service.revision += 1;
        return;
      }
      if (Date.now() >= deadline) break;
      await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
    }
    const seconds = timeoutMs / 1000;
    await this.stop(service, "readiness", STOP_GRACE_MS);
    service.state = "failed";
    service.failureReason = `readiness ${describeReadiness(service.readiness)} did not succeed within ${seconds} seconds; the service was stopped`;
    service.revision += 1;
  }

  private onExit(
    service: Service,
    code: number | null,
    signal: NodeJS.Signals | null,
    error: string | null,
  ): void {
    if (service.endedAt !== null) return;
    service.endedAt = Date.now() / 1000;
    service.exitCode = code;
    service.exitSignal = signal;
    service.revision += 1;
    if (service.stopping) return; // stop() records how it ended
    if (service.state === "starting") {
      service.state = "failed";
      service.failureReason = error
        ? `the service could not be started: ${error}`
        : `the service exited ${code !== null ? `with code ${code}` : `on ${signal}`} before it became ready`;
    } else if (service.state === "running") {
      service.state = "exited";
    }
    // The service is its session: helpers it left behind go with it.
    service.reaping = killOwned(owner(service), "SIGTERM", TEARDOWN_GRACE_MS);
  }

  /**
   * SIGTERM to the service's process group (every group of its session), SIGKILL after
   * `graceMs`. `reason` "stop" records stopped/sigterm|sigkill; "readiness" leaves the
   * state to the caller (failed).
   */
  private stop(
    service: Service,
    reason: "stop" | "readiness" | "teardown",
    graceMs: number,
  ): Promise<void> {
    if (service.stopping) return service.stopping;
    if (service.state !== "starting" && service.state !== "running") return Promise.resolve();
    service.stopping = (async () => {
      const { killed } = await killOwned(owner(service), "SIGTERM", graceMs);
      const deadline = Date.now() + 1_000;
      while (service.endedAt === null && Date.now() < deadline) await sleep(10);
      service.stopReason = killed ? "sigkill" : "sigterm";
      if (reason !== "readiness") service.state = "stopped";
      service.endedAt ??= Date.now() / 1000;
      service.revision += 1;
    })();
    return service.stopping;
  }

  private async stopAll(remove: boolean): Promise<Service[]> {
    const all = [...this.services.values()];
    await Promise.all(all.map((service) => this.stop(service, "teardown", TEARDOWN_GRACE_MS)));
    if (remove) {
      this.services.clear();
      fs.rmSync(this.logRoot, { recursive: true, force: true });
    }
    return all;
  }

  private list(): Record<string, unknown> {
    const services = [...this.services.values()].sort((a, b) => a.name.localeCompare(b.name));
    return {
      count: services.length,
      running_count: services.filter((service) => service.state === "running").length,
      services: services.map(describe),
    };
  }

  private logs(body: Record<string, unknown>): Record<string, unknown> {
    const service = this.lookup(body);
    const raw = body.tail_lines;
    let tailLines: number | null = null;
    if (raw !== null && raw !== undefined) {
      if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 0) {
        throw new ValidationError(`tail_lines must be a non-negative integer, got ${String(raw)}`, {
          field: "tail_lines",
        });
      }
      tailLines = raw;
    }
    const stdout = tailText(service.logs.stdout.readAll(), tailLines);
    const stderr = tailText(service.logs.stderr.readAll(), tailLines);
    const stdoutTruncated = stdout.truncated || service.logs.stdout.rotated;
    const stderrTruncated = stderr.truncated || service.logs.stderr.rotated;
    return {
      ...describe(service),
      stdout: stdout.text,
      stderr: stderr.text,
      tail_lines: tailLines,
      truncated: stdoutTruncated || stderrTruncated,
      stdout_truncated: stdoutTruncated,
      stderr_truncated: stderrTruncated,
    };
  }

  private lookup(body: Record<string, unknown>): Service {
    const name = stringField(body, "service_name") ?? "";
    const service = this.services.get(name);
    if (!service)
      throw new NotFoundError(`service '${name}' does not exist`, { service_name: name });
    return service;
  }
}

function owner(service: Service): Owner {
  return { sid: service.pid, marker: ownerMarker(service.token) };
}

function describe(service: Service): Record<string, unknown> {
  return {
    service_name: service.name,
    state: service.state,
    command: service.command,
    cwd: service.cwd,
    readiness: service.readiness,
    pid: service.pid,
    pid_start_ticks: service.pidStartTicks,
    owner_token: service.token,
    started_at: service.startedAt,
    ready_at: service.readyAt,
    ended_at: service.endedAt,
    exit_code: service.exitCode,
    exit_signal: service.exitSignal,
    stop_reason: service.stopReason,
    failure_reason: service.failureReason,
    revision: service.revision,
  };
}

function describeReadiness(readiness: Readiness | null): string {
  if (!readiness) return "(none)";
  const target =
    readiness.type === "file"
      ? readiness.path
      : readiness.type === "tcp"
        ? readiness.address
        : readiness.type === "http"
          ? readiness.url
          : readiness.command;
  return `${readiness.type} '${target}'`;
}

function positive(body: Record<string, unknown>, field: string, fallback: number): number {
  const value = numberField(body, field) ?? (body[field] === undefined ? fallback : NaN);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ValidationError(`${field} must be a positive number, got ${String(body[field])}`, {
      field,
    });
  }
  return value;
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string",
    ),
  );
}
