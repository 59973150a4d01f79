/**
 * What the supervisor does around a guest before any client reaches it: the egress proxy of
 * a guest with a network policy, the incoming state of a template restore, the restored
 * guest's refresh and the workspace volume's mount.
 */
import { type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";

import { listenAtomically } from "../../protocol/listen.js";
import { parseAllowHosts } from "../../shared/network-policy.js";
import { createEgressProxy, forwardServer } from "./egress-proxy.js";
import { forwardSocketName } from "./guest-net.js";
import { requireGuardLoaded } from "./private-discard.js";
import { Qmp } from "./qmp.js";
import type { GuestRelay } from "./relay.js";
import type { SupervisorConfig } from "./supervisor-config.js";
import { log } from "./supervisor-io.js";
import { IGNORE_SHARED } from "./template-migration.js";

/** Open guest connections the egress proxy (and each forwarded port) serves at once. */
const MAX_GUEST_CONNECTIONS = 256;

/**
 * A restore: qemu waits for its state (`-incoming defer`); its RAM is the template's file
 * and stays out of the stream (`x-ignore-shared`, templates.ts), then the load starts.
 */
export async function startIncoming(
  restore: NonNullable<SupervisorConfig["restore"]>,
  qemu: ChildProcess,
): Promise<void> {
  const qmp = await Qmp.connectWhenUp(restore.qmp_socket, 10_000);
  try {
    // Unguarded, this restore fails and the sandbox boots cold.
    requireGuardLoaded(qemu.pid, restore.private_discard);
    await qmp.execute("migrate-set-capabilities", { capabilities: IGNORE_SHARED });
    await qmp.execute("migrate-incoming", { uri: restore.incoming_uri });
  } finally {
    qmp.close();
  }
}

/** The egress proxy and the host-alias forwarders of a guest with a network policy. */
export async function startNetwork(config: SupervisorConfig): Promise<void> {
  const network = config.network;
  if (!network) return;
  const rules = parseAllowHosts(network.allow_hosts);
  const runtimeDir = path.dirname(network.proxy_socket);
  const proxy = createEgressProxy({ rules, logFile: network.log_file });
  // qemu spawns a socat on the host per guest connection; it ends as soon as we close its
  // connection, so capping ours caps how many a guest can keep alive at once.
  proxy.maxConnections = MAX_GUEST_CONNECTIONS;
  await listenAtomically(proxy, network.proxy_socket);
  for (const port of network.forward_ports) {
    const forward = forwardServer(port, network.log_file);
    forward.maxConnections = MAX_GUEST_CONNECTIONS;
    await listenAtomically(forward, path.join(runtimeDir, forwardSocketName(port)));
  }
  log(
    `egress proxy up (${network.policy}; allow_hosts: ${network.allow_hosts.join(" ") || "any public host"})`,
  );
}

/**
 * Mounts the workspace volume at /workspace, before any client can reach the guest: after
 * a restore's refresh (the template was saved without it mounted) or a cold boot.
 */
export async function mountVolume(
  guest: GuestRelay,
  hello: Record<string, unknown>,
): Promise<void> {
  const capabilities = Array.isArray(hello.capabilities) ? hello.capabilities : [];
  if (!capabilities.includes("volume.mount")) {
    throw new Error("the guest's agent cannot mount the workspace volume (an older agent)");
  }
  await guest.request("volume.mount", {}, 30_000);
}

/** Sends `guest.refresh` to a guest restored from a template (see src/agent/refresh.ts). */
export async function refreshRestoredGuest(
  guest: GuestRelay,
  hello: Record<string, unknown>,
  config: SupervisorConfig,
): Promise<Record<string, unknown>> {
  const restore = config.restore as NonNullable<SupervisorConfig["restore"]>;
  const capabilities = Array.isArray(hello.capabilities) ? hello.capabilities : [];
  if (!capabilities.includes("guest.refresh")) {
    throw new Error("the restored guest's agent cannot refresh itself (no guest.refresh)");
  }
  const hostname = `pyro-${restore.sandbox_id.toLowerCase().replace(/[^a-z0-9-]/g, "-")}`.slice(
    0,
    63,
  );
  const answer = await guest.request(
    "guest.refresh",
    {
      entropy_b64: randomBytes(64).toString("base64"),
      host_time_ms: Date.now(),
      hostname,
      machine_id: randomBytes(16).toString("hex"),
      instance_id: randomUUID(),
      mount_volume: config.mount_volume === true,
    },
    30_000, // with the mount: a loaded host took seconds for each
  );
  if (answer.rng_reseeded !== true) {
    // Entropy was still mixed in; the CRNG reseeds on its own schedule. Logged, not fatal.
    log(`restored guest's RNG was not reseeded: ${String(answer.rng_detail)}`);
  }
  guest.updateHello({ instance_id: answer.instance_id, restored_at_ms: Date.now() });
  log(`restored guest refreshed from template ${restore.template_key}`);
  return answer;
}
