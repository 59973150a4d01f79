/**
 * Guest networking without a guest: the allow-list rules (validated at the edge, with
 * messages naming field, rule and value), the egress proxy's policy on real loopback
 * servers (the proxy runs here exactly as in a VM supervisor, on a Unix socket), the qemu
 * arguments of each policy, the guest agent's reading of them, and the host backend's
 * honest refusal. Nothing here resolves a name or connects off this machine: every refused
 * name is refused before the lookup, which the tests replace with one that fails loudly.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { guestNetworkArgs, proxyEnvironment } from "../src/agent/guest-network.js";
import { createEgressProxy, type Lookup } from "../src/backends/qemu/egress-proxy.js";
import {
  GUEST_NET,
  NETDEV_ID,
  QMP_SOCKET_NAME,
  guestNetworkArgs as qemuNetworkArgs,
  guestNetworkCmdline,
  hostAliasPorts,
} from "../src/backends/qemu/guest-net.js";
import { findQemu } from "../src/backends/qemu/detect.js";
import { QemuBackend } from "../src/backends/qemu/qemu-backend.js";
import { networkLogFile } from "../src/core/network-log-ops.js";
import { findTool } from "../src/environments/host-tools.js";
import type { PyroError } from "../src/errors.js";
import { readNetworkLog } from "../src/shared/network-log.js";
import {
  MAX_ALLOW_HOSTS,
  decideAddress,
  decideHost,
  isNonPublicAddress,
  parseAllowHost,
  parseAllowHosts,
  type EgressDecision,
} from "../src/shared/network-policy.js";
import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

describe("allow_hosts rules", () => {
  it("parses names, wildcards, IP literals and ports into canonical patterns", () => {
    expect(parseAllowHost("Registry.NPMjs.org", 0)).toMatchObject({
      pattern: "registry.npmjs.org",
      kind: "name",
      port: null,
    });
    expect(parseAllowHost("*.example.org:443", 0)).toMatchObject({
      pattern: "*.example.org:443",
      kind: "wildcard",
      host: "example.org",
      port: 443,
    });
    expect(parseAllowHost("10.1.2.3", 0)).toMatchObject({ kind: "ip", host: "10.1.2.3" });
    expect(parseAllowHost("[0:0::1]:8080", 0)).toMatchObject({
      pattern: "[::1]:8080",
      kind: "ip",
      host: "::1",
      port: 8080,
    });
    expect(parseAllowHosts(["a.org", "A.org", "b.org"]).map((r) => r.pattern)).toEqual([
      "a.org",
      "b.org",
    ]);
  });

  it("refuses bad patterns with the field, the rule and the value", () => {
    const refusal = (list: string[]): PyroError => {
      try {
        parseAllowHosts(list);
      } catch (error) {
        return error as PyroError;
      }
      throw new Error(`accepted ${JSON.stringify(list)}`);
    };
    for (const [list, fragment] of [
      [["ok.org", "bad host!"], "allow_hosts[1] must be a host name"],
      [["a.org:0"], "allow_hosts[0] must have a port from 1 to 65535"],
      [["a.org:99999"], "port from 1 to 65535"],
      [["::1"], "IPv6 address in brackets"],
      [["*.org"], "must not be a wildcard over a top-level domain"],
      [["a.*.org"], "must be a host name"],
      [["host.pyro.internal"], "must name a port for host.pyro.internal"],
      [["*.pyro.internal:80", "*.host.pyro.internal"], "allow_hosts[1] must name a port"],
      [[""], "allow_hosts[0] must be a host pattern of 1-300 characters"],
      [["-a.org"], "must be a host name"],
    ] as const) {
      const error = refusal([...list]);
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toContain(fragment);
      expect(error.message).toContain(`'${list[list.length - 1]}'`);
      expect(error.details.field).toBe("allow_hosts");
    }
    const tooMany = refusal(Array.from({ length: MAX_ALLOW_HOSTS + 1 }, (_, i) => `h${i}.org`));
    expect(tooMany.message).toContain(`at most ${MAX_ALLOW_HOSTS} rules`);
  });

  it("decides on the name asked for: exact, wildcard, port, IP, and the host alias", () => {
    const rules = parseAllowHosts([
      "registry.npmjs.org",
      "*.github.com:443",
      "93.184.216.34",
      "host.pyro.internal:8080",
    ]);
    const allowed = (host: string, port: number): boolean => decideHost(rules, host, port).allowed;
    expect(allowed("registry.npmjs.org", 443)).toBe(true);
    expect(allowed("REGISTRY.npmjs.org.", 80)).toBe(true);
    expect(allowed("evil-registry.npmjs.org", 443)).toBe(false);
    expect(allowed("api.github.com", 443)).toBe(true);
    expect(allowed("api.github.com", 80)).toBe(false);
    expect(allowed("github.com", 443)).toBe(false);
    expect(allowed("93.184.216.34", 80)).toBe(true);
    expect(allowed("host.pyro.internal", 8080)).toBe(true);
    expect(allowed("host.pyro.internal", 8081)).toBe(false);
    expect(allowed("example.org", 443)).toBe(false);
    const alias = decideHost(rules, "host.pyro.internal", 8080) as EgressDecision & {
      allowed: true;
    };
    expect(alias.loopbackAlias).toBe(true);
    // An empty list: any public host, but never the host alias (no rule names a port).
    expect(decideHost([], "example.org", 443).allowed).toBe(true);
    expect(decideHost([], "host.pyro.internal", 8080)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining("no allow_hosts rule names host.pyro.internal:8080"),
    });
  });

  it("refuses loopback, private and link-local addresses unless a rule names the address", () => {
    for (const address of [
      "127.0.0.1",
      "10.0.2.2",
      "172.16.5.4",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:192.168.0.1",
    ]) {
      expect(isNonPublicAddress(address), address).toBe(true);
      expect(decideAddress([], address, 80).allowed, address).toBe(false);
    }
    expect(isNonPublicAddress("93.184.216.34")).toBe(false);
    expect(isNonPublicAddress("2606:2800:220:1::1")).toBe(false);
    expect(isNonPublicAddress("::ffff:93.184.216.34")).toBe(false);
    expect(decideAddress(parseAllowHosts(["192.168.1.10:5432"]), "192.168.1.10", 5432)).toEqual({
      allowed: true,
    });
    expect(decideAddress(parseAllowHosts(["192.168.1.10:5432"]), "192.168.1.10", 22).allowed).toBe(
      false,
    );
  });
});

/** Sends raw bytes to the proxy's Unix socket and returns everything it answers. */
function exchange(socketPath: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
      // A tunnel stays open: the test's request inside it asks the server to close.
    });
    socket.once("error", reject);
    socket.once("close", () => resolve(answer));
    socket.write(request);
  });
}

describe("the egress proxy", () => {
  let dir: string;
  let allowedServer: http.Server;
  let otherServer: http.Server;
  let allowedPort: number;
  let otherPort: number;
  const lookups: string[] = [];

  const listen = async (body: string): Promise<[http.Server, number]> => {
    const server = http.createServer((request, response) => {
      response.setHeader("connection", "close");
      response.end(`${body} ${request.method} ${request.url} host=${request.headers.host}`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return [server, (server.address() as net.AddressInfo).port];
  };

  /** A proxy for `allowHosts` on its own socket; lookups resolve names from `names` only. */
  const proxyFor = async (
    allowHosts: string[],
    names: Record<string, string> = {},
  ): Promise<{ socket: string; log: string }> => {
    const socket = path.join(dir, `proxy-${lookups.length}-${Math.random()}.sock`);
    const log = path.join(dir, `log-${path.basename(socket)}.jsonl`);
    const lookup: Lookup = async (host) => {
      lookups.push(host);
      const address = names[host];
      if (!address) throw new Error(`test lookup: no address for ${host}`);
      return [address];
    };
    const server = createEgressProxy({ rules: parseAllowHosts(allowHosts), logFile: log, lookup });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return { socket, log };
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-egress-"));
    [allowedServer, allowedPort] = await listen("allowed");
    [otherServer, otherPort] = await listen("other");
  });
  afterAll(() => {
    allowedServer.close();
    otherServer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("forwards plain http and CONNECT to host.pyro.internal on a named port only", async () => {
    const proxy = await proxyFor([`host.pyro.internal:${allowedPort}`]);
    const viaUrl = await exchange(
      proxy.socket,
      `GET http://host.pyro.internal:${allowedPort}/file?x=1 HTTP/1.1\r\nHost: host.pyro.internal:${allowedPort}\r\nConnection: close\r\n\r\n`,
    );
    expect(viaUrl).toMatch(/^HTTP\/1\.1 200/);
    expect(viaUrl).toContain(`allowed GET /file?x=1 host=host.pyro.internal:${allowedPort}`);
    const viaTunnel = await exchange(
      proxy.socket,
      `CONNECT host.pyro.internal:${allowedPort} HTTP/1.1\r\n\r\nGET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(viaTunnel).toMatch(/^HTTP\/1\.1 200 Connection Established/);
    expect(viaTunnel).toContain("allowed GET /tunnelled");

    // The second loopback server: no rule names its port, by alias or by address.
    for (const request of [
      `GET http://host.pyro.internal:${otherPort}/ HTTP/1.1\r\nHost: h\r\n\r\n`,
      `CONNECT host.pyro.internal:${otherPort} HTTP/1.1\r\n\r\n`,
      `CONNECT 127.0.0.1:${otherPort} HTTP/1.1\r\n\r\n`,
      `GET http://127.0.0.1:${allowedPort}/ HTTP/1.1\r\nHost: h\r\n\r\n`,
    ]) {
      const answer = await exchange(proxy.socket, request);
      expect(answer, request).toMatch(/^HTTP\/1\.1 403/);
      expect(answer).not.toContain("other GET");
    }
    const log = readNetworkLog(proxy.log).entries;
    expect(log.map((entry) => `${entry.host}:${entry.port}`)).toEqual([
      `host.pyro.internal:${otherPort}`,
      `host.pyro.internal:${otherPort}`,
      `127.0.0.1:${otherPort}`,
      `127.0.0.1:${allowedPort}`,
    ]);
    expect(log[0]).toMatchObject({ action: "refused", via: "proxy" });
    expect(log[0]?.reason).toContain("no allow_hosts rule names");
    expect(log[2]?.reason).toContain("not on the allow list");
    expect(lookups).toEqual([]);
  });

  it("refuses a name off the list before resolving it, and logs host, port, reason and time", async () => {
    const before = Date.now() / 1000;
    const proxy = await proxyFor(["allowed.test"]);
    const answer = await exchange(proxy.socket, "CONNECT registry.npmjs.org:443 HTTP/1.1\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(answer).toContain("refused registry.npmjs.org:443: not on the allow list");
    expect(lookups).toEqual([]);
    const [entry] = readNetworkLog(proxy.log).entries;
    expect(entry).toMatchObject({ host: "registry.npmjs.org", port: 443, action: "refused" });
    expect(entry?.time).toBeGreaterThanOrEqual(before);
  });

  it("refuses an allowed name whose address is loopback or private (DNS rebinding)", async () => {
    const proxy = await proxyFor([], { "rebind.test": "127.0.0.1", "inside.test": "10.1.2.3" });
    for (const host of ["rebind.test", "inside.test"]) {
      const answer = await exchange(
        proxy.socket,
        `GET http://${host}:${allowedPort}/ HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 403/);
      expect(answer).toContain(
        "a loopback, private or link-local address no allow_hosts rule names",
      );
    }
    expect(lookups).toEqual(["rebind.test", "inside.test"]);
    // Named by address, the same loopback server is reachable (the rule is explicit).
    const named = await proxyFor([`127.0.0.1:${allowedPort}`]);
    const answer = await exchange(
      named.socket,
      `GET http://127.0.0.1:${allowedPort}/ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
    );
    expect(answer).toContain("allowed GET /ok");
  });

  it("answers requests that are not proxy requests with an error, not a crash", async () => {
    const proxy = await proxyFor([]);
    expect(await exchange(proxy.socket, "GET /relative HTTP/1.1\r\nHost: h\r\n\r\n")).toMatch(
      /^HTTP\/1\.1 403[^]*not a proxy request/,
    );
    expect(await exchange(proxy.socket, "CONNECT nonsense HTTP/1.1\r\n\r\n")).toMatch(
      /^HTTP\/1\.1 400/,
    );
  });
});

describe("qemu arguments and the guest's view of them", () => {
  it("gives a guest under `off` no network device at all", () => {
    expect(qemuNetworkArgs("off", [], "/usr/bin/socat")).toEqual([]);
    expect(guestNetworkCmdline("off")).toEqual([]);
  });

  it("restricts the user-mode network to the proxy and the named host-alias ports", () => {
    const args = qemuNetworkArgs(
      "egress",
      ["host.pyro.internal:8080", "example.org", "host.pyro.internal:5432"],
      "/usr/bin/socat",
    );
    const netdev = args[args.indexOf("-netdev") + 1] as string;
    expect(netdev).toMatch(new RegExp(`^user,id=${NETDEV_ID},restrict=on,ipv6=off,`));
    expect(netdev).toContain(
      `guestfwd=tcp:${GUEST_NET.proxyIp}:${GUEST_NET.proxyPort}-cmd:/usr/bin/socat STDIO UNIX-CONNECT:egress.sock`,
    );
    expect(netdev).toContain(`guestfwd=tcp:${GUEST_NET.hostAliasIp}:5432-cmd:`);
    expect(netdev).toContain(`guestfwd=tcp:${GUEST_NET.hostAliasIp}:8080-cmd:`);
    expect(netdev).not.toContain("hostfwd");
    expect(args).not.toContain("-qmp");
    expect(hostAliasPorts(["host.pyro.internal:8080", "a.org:80"])).toEqual([8080]);
    const published = qemuNetworkArgs("egress+published-ports", [], "/usr/bin/socat");
    expect(published[published.indexOf("-qmp") + 1]).toBe(
      `unix:${QMP_SOCKET_NAME},server=on,wait=off`,
    );
  });

  it("the agent reads the kernel command line and sets both spellings of the proxy variables", () => {
    const words = guestNetworkCmdline("egress").join(" ");
    expect(guestNetworkArgs(`console=ttyS0 ${words} quiet`)).toEqual({
      address: GUEST_NET.address,
      proxy: `${GUEST_NET.proxyIp}:${GUEST_NET.proxyPort}`,
      hostAlias: GUEST_NET.hostAliasIp,
    });
    expect(guestNetworkArgs("console=ttyS0 quiet")).toBeNull();
    const env = proxyEnvironment("10.0.2.100:3128");
    for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) {
      expect(env[name]).toBe("http://10.0.2.100:3128");
    }
    expect(env.NO_PROXY).not.toContain("host.pyro.internal");
  });
});

describe("pyro doctor's guest_network", () => {
  it("is true exactly when qemu has user-mode networking and socat is there, else says why", () => {
    const capabilities = new QemuBackend(os.tmpdir()).capabilities();
    const qemu = findQemu();
    if (!qemu) {
      expect(capabilities).toMatchObject({ guest_network: false });
      return;
    }
    const userNet = /^user$/m.test(
      spawnSync(qemu, ["-netdev", "help"], { encoding: "utf8" }).stdout ?? "",
    );
    const expected = userNet && findTool("socat") !== null;
    expect(capabilities.guest_network).toBe(expected);
    if (!expected) expect(capabilities.guest_network_reason).toMatch(/socat|user-mode/);
  });
});

describe("network policy on the host backend", () => {
  const state = useTempState();

  it("accepts off and says the host network is shared; refuses egress and allow lists", async () => {
    const pyro = state.manager({ backend: "host" });
    const created = await pyro.createWorkspace({ allow_host_compat: true });
    expect(created).toMatchObject({
      network_policy: "off",
      network_enabled: false,
      host_network_shared: true,
      allow_hosts: [],
    });
    expect(await pyro.statusWorkspace(created.workspace_id)).toMatchObject({
      network_policy: "off",
      host_network_shared: true,
    });
    await expect(
      pyro.startService(created.workspace_id, "web", {
        command: "sleep 30",
        published_ports: [{ guest_port: 8080 }],
      }),
    ).rejects.toMatchObject({
      code: "invalid_argument",
      message: `published_ports needs a workspace created with network_policy egress+published-ports; workspace '${created.workspace_id}' has network_policy 'off'`,
    });
    expect((await pyro.listServices(created.workspace_id)).count).toBe(0);
    const log = await pyro.networkLogWorkspace(created.workspace_id);
    expect(log).toMatchObject({ count: 0, entries: [], network_policy: "off" });
    expect(networkLogFile("/x")).toBe("/x/network-log.jsonl");

    for (const input of [
      { network_policy: "egress" },
      { network_policy: "egress+published-ports" },
      { network: true },
    ]) {
      await expect(
        pyro.createWorkspace({ allow_host_compat: true, ...input }),
      ).rejects.toMatchObject({
        code: "guest_unavailable",
        message: expect.stringContaining("the host backend cannot isolate the network"),
      });
    }
    // One-shot VMs: network: true is egress, refused here the same way, before any record.
    await expect(
      pyro.runVm({ allow_host_compat: true, network: true, command: "true" }),
    ).rejects.toMatchObject({
      code: "guest_unavailable",
      details: { reason: "network_unsupported" },
    });
    const vm = await pyro.createVm({ allow_host_compat: true });
    expect(vm).toMatchObject({ network_policy: "off", host_network_shared: true });
    expect(await pyro.networkInfoVm(vm.vm_id)).toMatchObject({ network_enabled: false });
    await pyro.deleteVm(vm.vm_id);
    await expect(
      pyro.createWorkspace({ allow_host_compat: true, allow_hosts: ["example.org"] }),
    ).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("allow_hosts needs network_policy egress"),
    });
    await expect(
      pyro.createWorkspace({ allow_host_compat: true, network_policy: "wide-open" }),
    ).rejects.toMatchObject({
      code: "invalid_argument",
      message: "network_policy must be one of off, egress, egress+published-ports, got 'wide-open'",
    });
    await expect(
      pyro.createWorkspace({
        allow_host_compat: true,
        network_policy: "egress",
        allow_hosts: ["bad host"],
      }),
    ).rejects.toMatchObject({ code: "invalid_argument", details: { field: "allow_hosts" } });
    await expect(
      pyro.createWorkspace({ allow_host_compat: true, network: false, network_policy: "egress" }),
    ).rejects.toMatchObject({ code: "invalid_argument", details: { field: "network" } });
    // Nothing was left behind by the refusals.
    expect(fs.readdirSync(path.join(state.stateDir(), "workspaces"))).toEqual([
      created.workspace_id,
    ]);
  });
});

describe("the CLI's network flags", () => {
  const cliState = useTempState();
  const pyro = (...args: string[]) =>
    spawnSync(process.execPath, [cliPath, ...args], {
      encoding: "utf8",
      env: pyroEnv(cliState.stateDir()),
    });

  it("passes --network-policy, --allow-host and --publish to the catalogue", () => {
    const refused = pyro(
      "workspace",
      "create",
      "debian:12",
      "--allow-host-compat",
      "--network-policy",
      "egress",
      "--allow-host",
      "host.pyro.internal:8080",
      "--allow-host",
      "bad host",
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("allow_hosts[1] must be a host name");
    const created = pyro("workspace", "create", "debian:12", "--allow-host-compat", "--json");
    const id = (JSON.parse(created.stdout) as { workspace_id: string }).workspace_id;
    const status = pyro("workspace", "status", id);
    expect(status.stdout).toContain(
      "network off (host backend: commands share the host's network)",
    );
    const published = pyro(
      "workspace",
      "service",
      "start",
      id,
      "web",
      "--publish",
      "18080:8080",
      "--",
      "sleep",
      "5",
    );
    expect(published.status).not.toBe(0);
    expect(published.stderr).toContain(
      "published_ports needs a workspace created with network_policy egress+published-ports",
    );
    const log = pyro("workspace", "network-log", id);
    expect(log.status).toBe(0);
    expect(log.stdout).toContain("networking is off");
    pyro("workspace", "delete", id);
  });
});
