import { z } from "zod";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { renderService, serviceResult, withNewline } from "./results.js";

const serviceName = z.string().describe("Service name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.");

export const serviceOperations = [
  defineOperation({
    name: "service_start",
    method: "startService",
    description:
      "Start a named long-running command (a server, a watcher) in a started workspace. With readiness (file, tcp, http or command) the call returns once it is ready (state running) or has failed (exited or timed out first).",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      service_name: serviceName,
      command: fields.command,
      cwd: z.string().describe("Directory under /workspace (default /workspace).").optional(),
      readiness: z
        .record(z.string(), z.unknown())
        .describe(
          'Readiness: {"type":"file","path":P} | {"type":"tcp","address":"HOST:PORT"} | {"type":"http","url":U} | {"type":"command","command":C}.',
        )
        .nullable()
        .optional(),
      ready_timeout_seconds: z
        .number()
        .describe("Seconds to wait for readiness (default 30).")
        .optional(),
      ready_interval_ms: z
        .number()
        .describe("Milliseconds between readiness probes (default 500).")
        .optional(),
      env: z
        .record(z.string(), z.string())
        .describe("Environment variables for the service (names like [A-Za-z_][A-Za-z0-9_]*).")
        .optional(),
      secret_env: fields.secret_env,
      published_ports: z
        .array(
          z.strictObject({
            guest_port: z.number().int().describe("TCP port the service listens on in the guest."),
            host_port: z
              .number()
              .int()
              .describe("Port on 127.0.0.1 of the host (default: a free one).")
              .optional(),
          }),
        )
        .describe(
          "Guest ports to publish on 127.0.0.1 of the host (only on the host's loopback), while the service runs. Needs network_policy egress+published-ports.",
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
    description:
      "List the workspace's services with their states (starting, running, exited, stopped, failed).",
    input: z.strictObject({ workspace_id: fields.workspace_id }),
    output: z.object({
      workspace_id: z.string(),
      count: z.number().int(),
      running_count: z.number().int(),
      services: z.array(serviceResult),
    }),
    handler: (manager, input) => manager.listServices(input.workspace_id),
    render: (result) =>
      result.services.length === 0 ? "no services" : result.services.map(renderService).join("\n"),
  }),
  defineOperation({
    name: "service_status",
    method: "statusService",
    description:
      "Show one service: state, pid, started_at, ready_at, ended_at, exit_code, stop_reason and failure_reason.",
    input: z.strictObject({ workspace_id: fields.workspace_id, service_name: serviceName }),
    output: serviceResult,
    handler: (manager, input) => manager.statusService(input.workspace_id, input.service_name),
    render: renderService,
  }),
  defineOperation({
    name: "service_logs",
    method: "logsService",
    description:
      "Show a service's stdout and stderr (last 200 lines by default, tail_lines or all for more). Needs a started workspace.",
    input: z.strictObject({
      workspace_id: fields.workspace_id,
      service_name: serviceName,
      tail_lines: z.number().int().describe("Last N lines (default 200).").nullable().optional(),
      all: z.boolean().describe("Return everything kept.").optional(),
    }),
    output: serviceResult.extend({
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
    description:
      "Stop a service: SIGTERM to its processes, SIGKILL after a grace period; records stop_reason.",
    input: z.strictObject({ workspace_id: fields.workspace_id, service_name: serviceName }),
    output: serviceResult,
    handler: (manager, input) => manager.stopService(input.workspace_id, input.service_name),
    render: renderService,
  }),
];
