/**
 * Guest network policy: what a sandbox may reach, checked once at the edge (create) and
 * enforced by the egress proxy of its VM supervisor (src/backends/qemu/egress-proxy.ts).
 * Pure functions, no I/O: the proxy resolves names itself, and only after `decideHost`
 * allowed the name, so a refused name is never even looked up.
 */
import net from "node:net";

import { ValidationError } from "../errors.js";

export const NETWORK_POLICIES = ["off", "egress", "egress+published-ports"] as const;
export type NetworkPolicy = (typeof NETWORK_POLICIES)[number];

/** The name under which a guest reaches the host's own loopback, on allowed ports only. */
export const HOST_ALIAS = "host.pyro.internal";
/** At most this many allow_hosts rules per sandbox. */
export const MAX_ALLOW_HOSTS = 64;

/** One parsed allow rule: `name`, `*.suffix` or an IP literal, with an optional port. */
export interface AllowRule {
  /** As written back to users: `host`, `*.example.org:443`, `[::1]:8080`. */
  pattern: string;
  kind: "name" | "wildcard" | "ip";
  /** Lower-case name; for a wildcard the suffix without `*.`; an IP in canonical form. */
  host: string;
  port: number | null;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function invalid(index: number, rule: string, value: string): never {
  throw new ValidationError(`allow_hosts[${index}] ${rule}, got '${value}'`, {
    field: "allow_hosts",
    index,
    value,
  });
}

/** Parses `PATTERN[:PORT]` (IPv6 literals in brackets: `[::1]:8080`). */
export function parseAllowHost(raw: string, index: number): AllowRule {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > 300) {
    invalid(index, "must be a host pattern of 1-300 characters", String(raw));
  }
  let hostPart = raw;
  let portPart: string | null = null;
  if (raw.startsWith("[")) {
    const close = raw.indexOf("]");
    if (close < 0)
      invalid(index, "has an unclosed '[' (IPv6 literals are written [::1]:PORT)", raw);
    hostPart = raw.slice(1, close);
    const rest = raw.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) invalid(index, "must be [IPv6] or [IPv6]:PORT", raw);
      portPart = rest.slice(1);
    }
    if (net.isIPv6(hostPart) === false)
      invalid(index, "must hold an IPv6 address in brackets", raw);
  } else {
    const colons = raw.split(":").length - 1;
    if (colons > 1) invalid(index, "must write an IPv6 address in brackets ([::1]:PORT)", raw);
    if (colons === 1) [hostPart, portPart] = raw.split(":") as [string, string];
  }
  let port: number | null = null;
  if (portPart !== null) {
    if (!/^[0-9]{1,5}$/.test(portPart) || Number(portPart) < 1 || Number(portPart) > 65535) {
      invalid(index, "must have a port from 1 to 65535 after ':'", raw);
    }
    port = Number(portPart);
  }
  const host = hostPart.toLowerCase();
  const withPort = (text: string): string => (port === null ? text : `${text}:${port}`);
  if (net.isIP(host) !== 0) {
    const canonical = canonicalIp(host);
    return {
      pattern: withPort(net.isIPv6(canonical) ? `[${canonical}]` : canonical),
      kind: "ip",
      host: canonical,
      port,
    };
  }
  const wildcard = host.startsWith("*.");
  const name = wildcard ? host.slice(2) : host;
  if (name.length > 253 || !name.split(".").every((label) => LABEL.test(label))) {
    invalid(
      index,
      "must be a host name (letters, digits, '-', dot-separated), a '*.' wildcard before one, or an IP literal",
      raw,
    );
  }
  if (wildcard && !name.includes(".")) {
    invalid(index, "must not be a wildcard over a top-level domain ('*.org')", raw);
  }
  if (name === HOST_ALIAS && (wildcard || port === null)) {
    invalid(
      index,
      `must name a port for ${HOST_ALIAS} (the host's loopback is reachable only on ports a rule names: ${HOST_ALIAS}:8080)`,
      raw,
    );
  }
  return {
    pattern: withPort(wildcard ? `*.${name}` : name),
    kind: wildcard ? "wildcard" : "name",
    host: name,
    port,
  };
}

/** Validates a whole allow list; duplicates collapse. */
export function parseAllowHosts(raw: readonly string[] | undefined): AllowRule[] {
  const list = raw ?? [];
  if (!Array.isArray(list)) invalid(0, "must be a list of host patterns", String(list));
  if (list.length > MAX_ALLOW_HOSTS) {
    throw new ValidationError(
      `allow_hosts must have at most ${MAX_ALLOW_HOSTS} rules, got ${list.length}`,
      { field: "allow_hosts", value: list.length, max: MAX_ALLOW_HOSTS },
    );
  }
  const rules: AllowRule[] = [];
  list.forEach((entry, index) => {
    const rule = parseAllowHost(entry, index);
    if (!rules.some((known) => known.pattern === rule.pattern)) rules.push(rule);
  });
  return rules;
}

export function checkNetworkPolicy(value: unknown): NetworkPolicy {
  if (typeof value === "string" && (NETWORK_POLICIES as readonly string[]).includes(value)) {
    return value as NetworkPolicy;
  }
  throw new ValidationError(
    `network_policy must be one of ${NETWORK_POLICIES.join(", ")}, got '${String(value)}'`,
    { field: "network_policy", value },
  );
}

function canonicalIp(ip: string): string {
  if (net.isIPv4(ip))
    return ip
      .split(".")
      .map((part) => String(Number(part)))
      .join(".");
  // The URL parser writes IPv6 in its shortest form (`::1`, lower case).
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

export type EgressDecision =
  | { allowed: true; rule: string | null; loopbackAlias: boolean }
  | { allowed: false; reason: string };

/**
 * May the guest connect to `host:port`? Decided on the name the guest asked for, before any
 * resolution. The host alias needs a rule naming it and the port; anything else needs a
 * matching rule, or an empty list (any public host: `decideAddress` refuses the rest).
 */
export function decideHost(
  rules: readonly AllowRule[],
  rawHost: string,
  port: number,
): EgressDecision {
  const bare = rawHost.startsWith("[") && rawHost.endsWith("]") ? rawHost.slice(1, -1) : rawHost;
  const host = bare.toLowerCase().replace(/\.$/, "");
  const ip = net.isIP(host) !== 0 ? canonicalIp(host) : null;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { allowed: false, reason: `port ${port} is not a TCP port` };
  }
  if (host === HOST_ALIAS) {
    const rule = rules.find((r) => r.kind === "name" && r.host === HOST_ALIAS && r.port === port);
    return rule
      ? { allowed: true, rule: rule.pattern, loopbackAlias: true }
      : {
          allowed: false,
          reason: `no allow_hosts rule names ${HOST_ALIAS}:${port} (the host's loopback is reachable only on ports a rule names)`,
        };
  }
  if (ip === null && !host.split(".").every((label) => LABEL.test(label))) {
    return { allowed: false, reason: "not a valid host name" };
  }
  if (rules.length === 0) return { allowed: true, rule: null, loopbackAlias: false };
  const rule = rules.find((r) => {
    if (r.port !== null && r.port !== port) return false;
    if (r.kind === "ip") return ip === r.host;
    if (ip !== null) return false;
    return r.kind === "name" ? host === r.host : host.endsWith(`.${r.host}`);
  });
  return rule
    ? { allowed: true, rule: rule.pattern, loopbackAlias: false }
    : { allowed: false, reason: "not on the allow list (allow_hosts)" };
}

/** Loopback, private, link-local, CGNAT, multicast and reserved ranges: never reached by default. */
const NON_PUBLIC = new net.BlockList();
for (const [prefix, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 3],
] as const) {
  NON_PUBLIC.addSubnet(prefix, bits, "ipv4");
}
for (const [prefix, bits] of [
  ["::", 127],
  ["64:ff9b:1::", 48],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  NON_PUBLIC.addSubnet(prefix, bits, "ipv6");
}

/** Whether an address is outside the public internet (loopback, private, link-local ...). */
export function isNonPublicAddress(address: string): boolean {
  if (!net.isIPv6(address)) return NON_PUBLIC.check(address, "ipv4");
  // An IPv4-mapped address (::ffff:127.0.0.1, canonically ::ffff:7f00:1) is judged as the
  // IPv4 address it carries. (Not as a BlockList subnet: ::ffff:0:0/96 would match every
  // IPv4 address checked.)
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonicalIp(address));
  if (mapped) {
    const high = parseInt(mapped[1] as string, 16);
    const low = parseInt(mapped[2] as string, 16);
    return NON_PUBLIC.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, "ipv4");
  }
  return NON_PUBLIC.check(address, "ipv6");
}

/**
 * May the connection go to `address`, a resolution of an allowed name? A non-public address
 * needs a rule naming that address itself: a public name whose DNS answer points inside
 * (DNS rebinding, `localtest.me`) is refused.
 */
export function decideAddress(
  rules: readonly AllowRule[],
  address: string,
  port: number,
): { allowed: true } | { allowed: false; reason: string } {
  if (!isNonPublicAddress(address)) return { allowed: true };
  const ip = canonicalIp(address);
  const named = rules.some(
    (r) => r.kind === "ip" && r.host === ip && (r.port === null || r.port === port),
  );
  return named
    ? { allowed: true }
    : {
        allowed: false,
        reason: `resolves to ${ip}, a loopback, private or link-local address no allow_hosts rule names`,
      };
}
