/**
 * The pyro guest agent. The same program runs inside real guests (with /workspace as its
 * root, on Node 18) and, for the `host` backend, as a detached host process whose root is
 * the workspace directory. It serves the framed protocol on a Unix socket; any number of
 * clients may be connected at once.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Duplex } from "node:stream";

import { listenAtomically } from "../protocol/listen.js";
import { OUR_RANGE, helloRange, type ProtocolRange } from "../protocol/negotiate.js";
import { scheduleSandboxExpiry } from "../protocol/idle-expiry.js";
import type { AgentContext } from "./context.js";
import { confineExecs } from "./exec.js";
import { stepClock, syncClock } from "./clock.js";
import { registerFeatures } from "./features.js";
import { prepareGuest } from "./guest-setup.js";
import { HandlerTable } from "./handler-table.js";
import { startIdleTrim } from "./idle-trim.js";
import { registerCoreHandlers } from "./handlers.js";
import { agentIdentity, registerRefreshHandler } from "./refresh.js";
import { sysHelper } from "./sys-helper.js";
import { mountWorkspaceVolume, registerVolumeHandlers } from "./volume.js";
import { WorkspacePaths } from "../shared/guest-paths.js";
import { GUEST_SECRETS_DIR, registerSecretsHandler } from "./secrets.js";
import { serveVirtioPort } from "./serial.js";
import { serveConnection } from "./server.js";
import { GUEST_SCRATCH_DIR, prepareScratch } from "./transfer.js";
import { findTransferDisk, registerTransferDiskHandlers } from "./transfer-disk.js";
import { AGENT_VERSION } from "../protocol/agent-version.js";

interface AgentOptions {
  /** Unix socket to listen on (host backend)... */
  socket: string | null;
  /** ...or the name of a virtio-serial port to serve (real guests). */
  serialPort: string | null;
  root: string;
  stateDir: string;
  /** Epoch seconds; the agent stops itself then, so an abandoned sandbox cannot outlive its TTL. */
  expiresAt: number | null;
  /** A workspace's activity file (src/shared/activity-file.ts): moves the self-stop. */
  activityFile: string | null;
}

function parseArgs(argv: string[]): AgentOptions {
  const values = new Map<string, string>();
  for (let index = 0; index < argv.length; index += 2) {
    const key = argv[index];
    const value = argv[index + 1];
    if (!key?.startsWith("--") || value === undefined) {
      throw new Error(
        `usage: pyro-agent (--socket PATH | --serial-port NAME) --root DIR --state-dir DIR (bad argument '${key}')`,
      );
    }
    values.set(key.slice(2), value);
  }
  const socket = values.get("socket") ?? null;
  const serialPort = values.get("serial-port") ?? null;
  const root = values.get("root") ?? "/workspace";
  const stateDir = values.get("state-dir") ?? "/run/pyro-agent";
  if ((socket === null) === (serialPort === null)) {
    throw new Error("pyro-agent: exactly one of --socket and --serial-port is required");
  }
  const expiresAt = values.has("expires-at") ? Number(values.get("expires-at")) : null;
  if (expiresAt !== null && !Number.isFinite(expiresAt))
    throw new Error("pyro-agent: --expires-at must be a number");
  return {
    socket: socket === null ? null : path.resolve(socket),
    serialPort,
    root: path.resolve(root),
    stateDir: path.resolve(stateDir),
    expiresAt,
    activityFile: values.has("activity-file")
      ? path.resolve(values.get("activity-file") as string)
      : null,
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  fs.mkdirSync(options.root, { recursive: true });
  fs.mkdirSync(options.stateDir, { recursive: true });
  const context = buildContext(options);
  const serve = connectionServer(context, options);
  const server = net.createServer(serve);

  let shuttingDown = false;
  const shutdown = async (code: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    server.close();
    for (const cleanup of context.cleanups) {
      await cleanup().catch((error: Error) =>
        console.error(`pyro-agent: cleanup failed: ${error.message}`),
      );
    }
    if (options.socket) fs.rmSync(options.socket, { force: true });
    process.exit(code);
  };
  context.handlers.set("shutdown", async () => {
    // Answer first, then stop: the caller waits for the process to disappear.
    setTimeout(() => void shutdown(0), 10);
    return { shutting_down: true };
  });
  if (options.expiresAt !== null) {
    scheduleSandboxExpiry({
      expiresAt: options.expiresAt,
      activityFile: options.activityFile,
      agentSocket: () => options.socket,
      onExpire: (reason) => {
        console.error(`pyro-agent: ${reason}, shutting down`);
        void shutdown(0);
      },
    });
  }
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGHUP", () => undefined);

  if (options.serialPort !== null) {
    console.error(`pyro-agent ${AGENT_VERSION} serving virtio port ${options.serialPort}`);
    await serveVirtioPort(options.serialPort, serve, (message) =>
      console.error(`pyro-agent: ${message}`),
    );
    return;
  }
  const socketPath = options.socket as string;
  await listenAtomically(server, socketPath);
  console.error(`pyro-agent ${AGENT_VERSION} listening on ${socketPath} (root ${options.root})`);
}

/**
 * The protocol versions to speak: ours, or "MIN-MAX" from $PYRO_AGENT_PROTOCOL_RANGE, so
 * tests can run a real agent that pretends to be older or newer than this build.
 */
function protocolRange(raw: string | undefined): ProtocolRange {
  if (!raw) return OUR_RANGE;
  const [min, max] = raw.split("-").map(Number);
  const range = helloRange({ protocol_min: min, protocol_max: max });
  if (!range) throw new Error(`PYRO_AGENT_PROTOCOL_RANGE must be MIN-MAX, got '${raw}'`);
  return range;
}

/** The agent's state and every operation it serves (in a guest, the guest's extras too). */
function buildContext(options: AgentOptions): AgentContext {
  const inGuest = options.serialPort !== null;
  if (inGuest) {
    const setup = prepareGuest((message) => console.error(`pyro-agent: ${message}`));
    confineExecs(setup.cgroups);
    startIdleTrim((message) => console.error(`pyro-agent: ${message}`));
    // Before any template of this guest is saved: a restored guest then pays no exec for it.
    sysHelper.start();
  }
  const scratchDir = inGuest ? GUEST_SCRATCH_DIR : options.stateDir;
  prepareScratch(scratchDir);
  const context: AgentContext = {
    paths: new WorkspacePaths(options.root),
    stateDir: options.stateDir,
    scratchDir,
    handlers: new HandlerTable(),
    cleanups: [],
    trustsHostValidation: inGuest,
  };
  const core = registerCoreHandlers(context);
  registerFeatures(context);
  registerSecretsHandler(
    context,
    inGuest ? GUEST_SECRETS_DIR : path.join(options.stateDir, "secrets"),
  );
  // Only where the host attached one: the ops' absence tells the host to use the port.
  const transferDisk = inGuest ? findTransferDisk() : null;
  if (transferDisk) {
    registerTransferDiskHandlers(context, transferDisk, {
      workspaceRestored: core.workspaceRestored,
    });
  }
  // Only a guest can be restored from a template (and only a guest may set its hostname).
  if (inGuest) {
    registerRefreshHandler(context, () => mountWorkspaceVolume(core.workspaceRestored));
    registerVolumeHandlers(context, core.workspaceRestored);
  }
  agentIdentity.instanceId = `${process.pid}-${Date.now()}`;
  return context;
}

/** Serves one connection: the handler table, failpoints, protocol range and hello. */
function connectionServer(context: AgentContext, options: AgentOptions): (stream: Duplex) => void {
  const startedAt = Date.now();
  const failpoints = new Set(
    (process.env.PYRO_AGENT_FAILPOINTS ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  );
  const protocol = protocolRange(process.env.PYRO_AGENT_PROTOCOL_RANGE);
  const serve = (stream: Duplex): void => {
    serveConnection(stream, {
      handlers: context.handlers,
      failpoints,
      protocol,
      hello: () => ({
        agent_version: AGENT_VERSION,
        node_version: process.version,
        pid: process.pid,
        workspace_root: "/workspace",
        uptime_ms: Date.now() - startedAt,
        capabilities: context.handlers.ops(),
        // New after a restore from a template (guest.refresh): tells restored guests apart.
        instance_id: agentIdentity.instanceId,
        restored_at_ms: agentIdentity.restoredAt,
      }),
      // Only a guest agent owns its clock; the host backend's agent must not touch the host's.
      clock: options.serialPort !== null ? { step: stepClock, sync: syncClock } : undefined,
    });
  };
  return serve;
}

main().catch((error: Error) => {
  console.error(`pyro-agent: ${error.message}`);
  process.exit(1);
});
