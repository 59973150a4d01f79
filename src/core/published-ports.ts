/**
 * Published ports of a service (network_policy egress+published-ports): a guest TCP port
 * made reachable on 127.0.0.1 of the host, never on another interface. The backend opens
 * and closes them (qemu's hostfwd over its monitor); the service's mirror records them so
 * start, list and status report them, and service_stop closes them. A reset, stop or delete
 * ends the VM, and its forwards with it.
 */
import { ValidationError } from "../errors.js";
import type { PublishedPort, WorkspaceRecord } from "../store/records.js";
import type { ManagerContext } from "./context.js";
import { backendOf, networkPolicyOf } from "./sandbox.js";

export interface PublishedPortInput {
  guest_port: number;
  host_port?: number;
}

const MAX_PUBLISHED_PORTS = 16;

function checkPort(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new ValidationError(`${field} must be an integer from 1 to 65535, got ${String(value)}`, {
      field,
      value,
    });
  }
  return value;
}

/** Validates published_ports against the input rules and the workspace's policy. */
export function checkPublishedPorts(
  raw: PublishedPortInput[] | undefined,
  record: WorkspaceRecord,
): { guestPort: number; hostPort: number | null }[] {
  if (raw === undefined || raw.length === 0) return [];
  if (!Array.isArray(raw) || raw.length > MAX_PUBLISHED_PORTS) {
    throw new ValidationError(
      `published_ports must be a list of at most ${MAX_PUBLISHED_PORTS} ports`,
      { field: "published_ports" },
    );
  }
  const policy = networkPolicyOf(record);
  if (policy !== "egress+published-ports") {
    throw new ValidationError(
      `published_ports needs a workspace created with network_policy egress+published-ports; workspace '${record.workspace_id}' has network_policy '${policy}'`,
      { field: "published_ports", network_policy: policy },
    );
  }
  const ports = raw.map((entry, index) => ({
    guestPort: checkPort(entry?.guest_port, `published_ports[${index}].guest_port`),
    hostPort:
      entry?.host_port === undefined
        ? null
        : checkPort(entry.host_port, `published_ports[${index}].host_port`),
  }));
  const hosts = ports.flatMap((port) => (port.hostPort === null ? [] : [port.hostPort]));
  if (new Set(hosts).size !== hosts.length) {
    throw new ValidationError("published_ports must not name the same host_port twice", {
      field: "published_ports",
      value: hosts,
    });
  }
  return ports;
}

/** Opens the ports; if one fails, those already opened are closed again. */
export async function publishPorts(
  context: ManagerContext,
  record: WorkspaceRecord,
  ports: { guestPort: number; hostPort: number | null }[],
): Promise<PublishedPort[]> {
  const backend = backendOf(context, record);
  const dir = context.layout.workspaceDir(record.workspace_id);
  const opened: PublishedPort[] = [];
  try {
    for (const port of ports) {
      if (!backend.publishPort) throw new ValidationError("published_ports needs a guest backend");
      const hostPort = await backend.publishPort(dir, port.guestPort, port.hostPort);
      opened.push({ guest_port: port.guestPort, host_port: hostPort, host: "127.0.0.1" });
    }
    return opened;
  } catch (error) {
    await unpublishPorts(context, record, opened);
    throw error;
  }
}

export async function unpublishPorts(
  context: ManagerContext,
  record: WorkspaceRecord,
  ports: readonly PublishedPort[],
): Promise<void> {
  const backend = backendOf(context, record);
  if (!backend.unpublishPort || !record.runtime) return;
  const dir = context.layout.workspaceDir(record.workspace_id);
  for (const port of ports) {
    await backend.unpublishPort(dir, port.host_port).catch(() => undefined);
  }
}
