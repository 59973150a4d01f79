/**
 * The MCP server: one tool per catalogue operation, with the operation's description and
 * input and output JSON schemas, a structured result plus a short text rendering, and
 * failures as `isError` results carrying the pyro error code and a next step.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";

import type { Manager } from "../core/manager.js";
import { PyroError, asPyroError } from "../errors.js";
import { nextStep } from "../operations/hints.js";
import { invokeOperation, type Progress } from "../operations/index.js";
import { PACKAGE_VERSION } from "../version.js";
import { OutputProgress } from "./output-progress.js";
import {
  DEFAULT_PROFILE,
  checkOmitted,
  profileTools,
  type ProfileName,
  type ProfileTool,
} from "./profiles.js";
import { HostPathGuard, type ConfiguredRoots } from "./roots.js";
import { advertisedInput, advertisedOutput, toolAnnotations } from "./tool-schemas.js";

type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * How long workspace_exec waits over MCP when the call gives no wait_seconds: under the
 * common 60 s client request timeout, so a model gets a `running` result with a command_id
 * to poll instead of a timeout (docs/mcp.md, "Long commands").
 */
const MCP_EXEC_WAIT_SECONDS = 50;
/** Operations that follow a running command and report its output as progress. */
const FOLLOWS_COMMAND = new Set(["workspace_exec", "command_wait", "command_read"]);

interface McpServerOptions {
  /**
   * Host directories the client may make pyro read from or write to (seed_path,
   * source_path, output_path), used when the client does not declare MCP roots; default
   * the working directory. Each must be an existing directory (checked on first use).
   */
  roots?: ConfiguredRoots;
  /** The tools offered (src/mcp/profiles.ts); default workspace-core. */
  profile?: ProfileName;
}

const HOST_PATHS =
  " A workspace's name works wherever its workspace_id does. Host paths (seed_path, source_path, output_path) must lie under this server's roots: your MCP roots, else the directories it was started with, else its working directory.";

/** What the server tells a model at start, naming only tools its profile offers. */
const INSTRUCTIONS: Record<ProfileName, string> = {
  "vm-run":
    "pyro runs commands in disposable Linux sandboxes. vm_run creates a sandbox, runs one shell command in it and deletes it, even on failure.",
  "workspace-core":
    "pyro runs commands in disposable Linux sandboxes. Create a workspace (workspace_create, optionally seeded from a host directory), run commands with workspace_exec (follow a long one with command_read/command_wait), and prefer workspace_reset over repairing a broken tree. workspace_diff shows what changed since the seed; workspace_summary reviews everything done since the last reset." +
    HOST_PATHS,
  "workspace-full":
    "pyro runs commands in disposable Linux sandboxes. Use vm_run for one command; for multi-step work create a workspace (workspace_create, optionally seeded from a host directory), run commands with workspace_exec, save known-good states with snapshot_create, try several approaches side by side with workspace_fork, and prefer workspace_reset over repairing a broken tree. workspace_diff shows what changed since the seed." +
    HOST_PATHS,
};

export function createMcpServer(manager: Manager, options: McpServerOptions = {}): McpServer {
  const profile = options.profile ?? DEFAULT_PROFILE;
  const server = new McpServer(
    { name: "pyro", version: PACKAGE_VERSION },
    { instructions: INSTRUCTIONS[profile] },
  );
  const guard = new HostPathGuard(server.server, options.roots);
  for (const tool of profileTools(profile))
    registerOperation(server, manager, profile, tool, guard);
  return server;
}

function registerOperation(
  server: McpServer,
  manager: Manager,
  profile: ProfileName,
  tool: ProfileTool,
  guard: HostPathGuard,
): void {
  const { operation } = tool;
  const registered = server.registerTool(
    operation.name,
    {
      title: operation.title,
      description: operation.description,
      inputSchema: advertisedInput(operation, tool.omitted),
      outputSchema: advertisedOutput(operation),
      annotations: toolAnnotations(operation),
    },
    (args, extra) => track(server, handle(args, extra)),
  );
  // Listed as `execution: {taskSupport: "forbidden"}` otherwise, MCP's default when absent:
  // 40 bytes of every tool in a list a model reads in every conversation.
  registered.execution = undefined;

  async function handle(args: Record<string, unknown>, extra: ToolExtra) {
    const progress = progressSender(extra);
    // Long commands report their latest output as progress, and a heartbeat while silent.
    const output =
      progress && FOLLOWS_COMMAND.has(operation.name) ? new OutputProgress(progress) : null;
    try {
      checkOmitted(profile, tool, args);
      // Sent as returned (not re-parsed, which would strip undeclared keys): the SDK checks
      // it against the output schema, and clients validate it against the JSON schema.
      const result = (await invokeOperation(manager, operation.name, args, {
        onProgress: progress,
        checkInput: (name, input) => guard.check(name, input),
        // notifications/cancelled and a closed client abort it: the command is killed.
        signal: extra.signal,
        onOutput: output?.onOutput,
        defaultWaitSeconds: MCP_EXEC_WAIT_SECONDS,
      })) as Record<string, unknown>;
      output?.stop();
      // The listed output schema names only the key fields; the whole result must still
      // match the catalogue's (a mismatch is a pyro bug, reported as one).
      const checked = operation.output.safeParse(result);
      if (!checked.success) {
        throw new PyroError(
          "internal",
          `${operation.name} returned a result that does not match its output schema: ${checked.error.issues[0]?.message ?? ""} at ${checked.error.issues[0]?.path.join(".") ?? ""}`,
        );
      }
      return {
        structuredContent: result,
        content: [{ type: "text" as const, text: operation.render(result) }],
      };
    } catch (error) {
      const failure = asPyroError(error);
      output?.stop();
      return {
        isError: true,
        content: [
          {
            type: "text" as const,
            text: `error [${failure.code}]: ${failure.message}\nnext step: ${nextStep(failure)}`,
          },
        ],
      };
    }
  }
}

/** Tool calls still running, per server: a closing server waits for them (they log). */
const inFlight = new WeakMap<McpServer, Set<Promise<unknown>>>();

function track<T>(server: McpServer, call: Promise<T>): Promise<T> {
  let calls = inFlight.get(server);
  if (!calls) {
    calls = new Set();
    inFlight.set(server, calls);
  }
  const set = calls;
  set.add(call);
  void call.finally(() => set.delete(call)).catch(() => undefined);
  return call;
}

/**
 * Resolves once every tool call of `server` has settled. After the client went away its
 * calls were cancelled; each still logs the command it killed before it settles.
 */
export async function whenIdle(server: McpServer): Promise<void> {
  const calls = inFlight.get(server);
  while (calls && calls.size > 0) await Promise.allSettled([...calls]);
}

/** Progress notifications, only when the client asked for them with a progressToken. */
function progressSender(extra: ToolExtra): ((progress: Progress) => void) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let last = -1;
  return (progress) => {
    // MCP requires progress to increase with every notification.
    const value =
      progress.progress !== undefined && progress.progress > last ? progress.progress : last + 1;
    last = value;
    void extra
      .sendNotification({
        method: "notifications/progress",
        params: {
          progressToken: token,
          progress: value,
          ...(progress.total === undefined ? {} : { total: progress.total }),
          message: progress.message,
        },
      })
      .catch(() => undefined);
  };
}
