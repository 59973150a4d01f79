/**
 * The qemu side of guest networking (docs/networking.md): a user-mode network (slirp, no
 * root, no host configuration) with `restrict=on`, so the guest reaches nothing by itself,
 * and `guestfwd` rules for the only ways out:
 *
 *   10.0.2.100:3128   the egress proxy (egress-proxy.ts), in the VM's supervisor
 *   10.0.2.101:PORT   host.pyro.internal:PORT, for each port an allow rule names
 *
 * qemu spawns the connector (socat) per connection, in its working directory, the
 * sandbox's private runtime directory, so the socket paths are short relative names.
 */
import { parseAllowHosts, HOST_ALIAS, type NetworkPolicy } from "../../shared/network-policy.js";

export const GUEST_NET = {
  /** The guest's address on the user-mode network (slirp's usual one). */
  address: "10.0.2.15/24",
  proxyIp: "10.0.2.100",
  proxyPort: 3128,
  hostAliasIp: "10.0.2.101",
} as const;

/** The id of the guest's NIC in qemu (hostfwd_add takes it). */
export const NETDEV_ID = "net0";
export const PROXY_SOCKET_NAME = "egress.sock";
export const QMP_SOCKET_NAME = "qmp.sock";

export function forwardSocketName(port: number): string {
  return `forward-${port}.sock`;
}

/** The host.pyro.internal ports the allow list names: qemu forwards exactly these. */
export function hostAliasPorts(allowHosts: readonly string[]): number[] {
  return parseAllowHosts(allowHosts)
    .filter((rule) => rule.kind === "name" && rule.host === HOST_ALIAS && rule.port !== null)
    .map((rule) => rule.port as number)
    .sort((a, b) => a - b);
}

/** Kernel command line words the guest agent reads (src/agent/guest-network.ts). */
export function guestNetworkCmdline(policy: NetworkPolicy): string[] {
  if (policy === "off") return [];
  return [
    `pyro.net=${GUEST_NET.address}`,
    `pyro.proxy=${GUEST_NET.proxyIp}:${GUEST_NET.proxyPort}`,
    `pyro.host_alias=${GUEST_NET.hostAliasIp}`,
  ];
}

/** qemu arguments of the guest's network; none at all under `off` (no device, only lo). */
export function guestNetworkArgs(
  policy: NetworkPolicy,
  allowHosts: readonly string[],
  socat: string,
): string[] {
  if (policy === "off") return [];
  // In a -netdev option value a comma is written twice; socat's own syntax has none here.
  const connector = (socket: string): string =>
    `cmd:${socat} STDIO UNIX-CONNECT:${socket}`.replace(/,/g, ",,");
  const forwards = [
    `guestfwd=tcp:${GUEST_NET.proxyIp}:${GUEST_NET.proxyPort}-${connector(PROXY_SOCKET_NAME)}`,
    ...hostAliasPorts(allowHosts).map(
      (port) =>
        `guestfwd=tcp:${GUEST_NET.hostAliasIp}:${port}-${connector(forwardSocketName(port))}`,
    ),
  ];
  const args = [
    ...[
      "-netdev",
      [`user,id=${NETDEV_ID},restrict=on,ipv6=off,net=10.0.2.0/24`, ...forwards].join(","),
    ],
    ...["-device", `virtio-net-device,netdev=${NETDEV_ID}`],
  ];
  // Published ports are added and removed while the guest runs (hostfwd_add over QMP).
  if (policy === "egress+published-ports") {
    args.push("-qmp", `unix:${QMP_SOCKET_NAME},server=on,wait=off`);
  }
  return args;
}
