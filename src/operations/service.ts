import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { renderService, serviceResult, withNewline } from "./results.js";
import { LIMITS } from "../shared/limits.js";
import { intAtLeast, intBetween, positiveUpTo, requiredFor, ruleMessage } from "./rules.js";

const serviceName = lazy(() => z.string());

/**
 * Readiness: one object shape per kind, each with its `type` constant and its own required
 * field, so a schema-driven client builds the right object (the JSON schema is a oneOf with
 * `type: "object"` beside it: the MCP Inspector parses an object-typed argument as JSON).
 * Extra keys are dropped, as normalizeReadiness always did; it still checks the values.
 */
const readiness = lazy(() =>
  z
    .discriminatedUnion(
      "type",
      [
        z.object({
          type: z.literal("file"),
          path: requiredFor("is required for file readiness"),
        }),
        z.object({
          type: z.literal("tcp"),
          address: requiredFor("is required for tcp readiness").describe("HOST:PORT."),
        }),
        z.object({ type: z.literal("http"), url: requiredFor("is required for http readiness") }),
        z.object({
          type: z.literal("command"),
          command: requiredFor("is required for command readiness"),
        }),
      ],
      {
        error: (issue) => (issue.code === "invalid_union" ? readinessType : readinessObject),
      },
    )
    .meta({ type: "object" }),
);
const readinessType = ruleMessage("must be one of: file, tcp, http, command");
const readinessObject = ruleMessage(
  "must be an object whose type is one of: file, tcp, http, command",
);

export const serviceOperations = [
  defineOperation({
    name: "service_start",
    method: "startService",
    title: "Start service",
    effect: "destructive",
    description:
      "Start a named long-running command (server, watcher). With readiness it returns once ready (state running) or failed.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        service_name: serviceName(),
        command: fields.command,
        cwd: z.string().describe("Under /workspace.").optional(),
        readiness: readiness()
          .describe("Ready when a file exists, a port or URL answers, or a command succeeds.")
          .optional(),
        ready_timeout_seconds: positiveUpTo(LIMITS.timeoutSeconds.max)
          .default(30)
          .describe("Seconds to wait for readiness."),
        ready_interval_ms: intBetween(10, 60_000)
          .default(500)
          .describe("Milliseconds between readiness probes."),
        env: z.record(z.string(), z.string()).optional(),
        secret_env: fields.secret_env,
        published_ports: z
          .array(
            z.strictObject({
              guest_port: intBetween(1, 65_535).describe(
                "Port the service listens on in the guest.",
              ),
              host_port: intBetween(1, 65_535)
                .describe("Port on the host's 127.0.0.1 (default: a free one).")
                .optional(),
            }),
          )
          .describe(
            "Guest ports to publish on the host's 127.0.0.1 while it runs (needs network_policy egress+published-ports).",
          )
          .optional(),
      }),
    output: serviceResult,
    handler: (manager, { workspace_id, service_name, ...input }) =>
      manager.startService(workspace_id, service_name, input),
    render: renderService,
  }),
  defineOperation({
    name: "service_list",
    method: "listServices",
    title: "List services",
    effect: "read",
    description:
      "List the workspace's services with their states (starting, running, exited, stopped, failed).",
    input: () => z.strictObject({ workspace_id: fields.workspace_id }),
    output: () =>
      z.object({
        workspace_id: z.string(),
        count: z.number().int(),
        running_count: z.number().int(),
        services: z.array(serviceResult()),
      }),
    handler: (manager, input) => manager.listServices(input.workspace_id),
    render: (result) =>
      result.services.length === 0 ? "no services" : result.services.map(renderService).join("\n"),
  }),
  defineOperation({
    name: "service_status",
    method: "statusService",
    title: "Service status",
    effect: "read",
    description:
      "Show one service: state, pid, started_at, ready_at, ended_at, exit_code, stop_reason and failure_reason.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id, service_name: serviceName() }),
    output: serviceResult,
    handler: (manager, input) => manager.statusService(input.workspace_id, input.service_name),
    render: renderService,
  }),
  defineOperation({
    name: "service_logs",
    method: "logsService",
    title: "Service logs",
    effect: "read",
    description: "A service's stdout and stderr: the last tail_lines (default 200), or all.",
    input: () =>
      z.strictObject({
        workspace_id: fields.workspace_id,
        service_name: serviceName(),
        tail_lines: intAtLeast(0).default(200).describe("Last N lines."),
        all: z.boolean().describe("Return everything kept.").optional(),
      }),
    output: () =>
      serviceResult().extend({
        stdout: z.string(),
        stderr: z.string(),
        tail_lines: z.number().int().nullable(),
        truncated: z.boolean(),
        stdout_truncated: z.boolean(),
        stderr_truncated: z.boolean(),
      }),
    handler: (manager, { workspace_id, service_name, ...input }) =>
      manager.logsService(workspace_id, service_name, input),
    render: (result) =>
      [
        result.stdout && withNewline(result.stdout),
        result.stderr && `[stderr]\n${withNewline(result.stderr)}`,
        // A model reading only the text must know it sees the tail, and how to see more.
        result.truncated &&
          `(older output not shown: last ${result.tail_lines ?? "kept"} lines; pass all: true or a larger tail_lines for more)`,
      ]
        .filter(Boolean)
        .join("") || "no output yet",
  }),
  defineOperation({
    name: "service_stop",
    method: "stopService",
    title: "Stop service",
    effect: "destructive",
    idempotent: true,
    description:
      "Stop a service: SIGTERM to its processes, SIGKILL after a grace period; records stop_reason.",
    input: () => z.strictObject({ workspace_id: fields.workspace_id, service_name: serviceName() }),
    output: serviceResult,
    handler: (manager, input) => manager.stopService(input.workspace_id, input.service_name),
    render: renderService,
  }),
];
