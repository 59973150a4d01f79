/**
 * A guest booted with a network policy (src/backends/qemu/qemu-args.ts) gets, on its kernel
 * command line, the address of its NIC on qemu's user-mode network, the egress proxy's
 * address and the address the host alias maps to. This brings the NIC up (static address,
 * no default route: a connection to anything but the proxy and the forwarded host ports
 * fails at once with "Network is unreachable" instead of hanging), maps `host.pyro.internal`
 * in /etc/hosts and puts the proxy variables into the agent's environment, which every
 * exec, shell and service inherits.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";

import { HOST_ALIAS } from "../shared/network-policy.js";

/** What the host passes: `pyro.net=ADDR/PREFIX pyro.proxy=IP:PORT pyro.host_alias=IP`. */
interface GuestNetworkArgs {
  address: string;
  proxy: string;
  hostAlias: string;
}

export function guestNetworkArgs(cmdline: string): GuestNetworkArgs | null {
  const values = new Map<string, string>();
  for (const word of cmdline.trim().split(/\s+/)) {
    const eq = word.indexOf("=");
    if (eq > 0) values.set(word.slice(0, eq), word.slice(eq + 1));
  }
  const address = values.get("pyro.net");
  const proxy = values.get("pyro.proxy");
  const hostAlias = values.get("pyro.host_alias");
  if (!address || !proxy || !hostAlias) return null;
  return { address, proxy, hostAlias };
}

/** The proxy variables every command gets (both spellings: tools read one or the other). */
export function proxyEnvironment(proxy: string): Record<string, string> {
  const url = `http://${proxy}`;
  // The guest's own loopback stays direct; the host alias goes through the proxy, which
  // checks its port and logs a refusal.
  const noProxy = "localhost,127.0.0.1,::1";
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
  };
}

export function setUpGuestNetwork(log: (message: string) => void): void {
  let cmdline: string;
  try {
    cmdline = fs.readFileSync("/proc/cmdline", "utf8");
  } catch {
    return;
  }
  const args = guestNetworkArgs(cmdline);
  if (!args) return;
  const nic = fs
    .readdirSync("/sys/class/net")
    .filter((name) => name !== "lo")
    .sort()[0];
  if (!nic) {
    log("the host asked for a network, but the guest has no network interface");
    return;
  }
  for (const command of [
    ["ip", "addr", "add", args.address, "dev", nic],
    ["ip", "link", "set", nic, "up"],
  ]) {
    const done = spawnSync(command[0] as string, command.slice(1), { encoding: "utf8" });
    if (done.status !== 0)
      log(`${command.join(" ")} failed: ${done.stderr || done.error?.message}`);
  }
  try {
    let hosts = "";
    try {
      hosts = fs.readFileSync("/etc/hosts", "utf8");
    } catch {
      // An image without /etc/hosts gets one.
    }
    if (!hosts.includes(HOST_ALIAS)) {
      const localhost = /\blocalhost\b/.test(hosts) ? "" : "127.0.0.1\tlocalhost\n::1\tlocalhost\n";
      fs.appendFileSync("/etc/hosts", `${localhost}${args.hostAlias}\t${HOST_ALIAS}\n`);
    }
  } catch (error) {
    log(`could not map ${HOST_ALIAS} in /etc/hosts: ${(error as Error).message}`);
  }
  Object.assign(process.env, proxyEnvironment(args.proxy));
}
