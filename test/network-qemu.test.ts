/**
 * Guest networking on a real guest, with only loopback targets: an HTTP server on 127.0.0.1
 * of the host plays "the internet". Under `off` a guest has no interface but lo; under
 * egress+published-ports with `host.pyro.internal:PORT` allowed, curl in the guest fetches
 * from that server, a name off the list is refused (and logged) without any lookup, a second
 * loopback server no rule names is unreachable by every path, and a published port serves a
 * guest HTTP service on 127.0.0.1 of the host until the service stops, the workspace
 * resets or is deleted. Skipped where qemu or debian:12 is missing.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type net from "node:net";

import { describe, expect, it } from "vitest";

import { qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";

function serve(body: Buffer | string): Promise<[http.Server, number]> {
  const server = http.createServer((request, response) => {
    response.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve([server, (server.address() as net.AddressInfo).port]),
    ),
  );
}

/** GET http://127.0.0.1:port/ from the host; the error code when nothing answers. */
function hostGet(port: number): Promise<string> {
  return new Promise((resolve) => {
    const request = http.get({ host: "127.0.0.1", port, path: "/", timeout: 20_000 }, (reply) => {
      let text = "";
      reply.setEncoding("utf8");
      reply.on("data", (chunk: string) => (text += chunk));
      reply.on("end", () => resolve(text));
      reply.on("error", (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
    });
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", (error: NodeJS.ErrnoException) =>
      resolve(`error ${error.code ?? error.message}`),
    );
  });
}

const GUEST_SERVER = `node -e 'require("http").createServer((q, r) => r.end("from the guest " + q.url)).listen(8000, "0.0.0.0")'`;

describe("qemu guest networking", () => {
  const state = useTempState();

  it(
    "off has only lo; egress reaches allowed loopback ports only, logs refusals; published ports open and close",
    { timeout: 900_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const content = randomBytes(48 * 1024).toString("base64");
      const [allowed, allowedPort] = await serve(content);
      const [other, otherPort] = await serve("the other server");
      try {
        const pyro = state.manager({ backend: "qemu" });

        // off: no network device at all.
        const off = await pyro.runVm({ command: "ls /sys/class/net", timeout_seconds: 60 });
        expect(off.stdout.trim().split(/\s+/)).toEqual(["lo"]);

        const created = await pyro.createWorkspace({
          ttl_seconds: 3600,
          network_policy: "egress+published-ports",
          allow_hosts: [`host.pyro.internal:${allowedPort}`],
        });
        const id = created.workspace_id;
        expect(created).toMatchObject({
          network_policy: "egress+published-ports",
          network_enabled: true,
          host_network_shared: false,
          allow_hosts: [`host.pyro.internal:${allowedPort}`],
        });
        const exec = async (command: string) =>
          pyro.execWorkspace(id, { command, timeout_seconds: 120 });

        expect((await exec("ls /sys/class/net")).stdout.trim().split(/\s+/)).toEqual([
          "eth0",
          "lo",
        ]);
        // The allowed server, through the proxy variables every exec gets, and directly (the
        // transparent forward for tools that ignore them).
        const fetched = await exec(
          `curl -sS -m 60 http://host.pyro.internal:${allowedPort}/file; echo; curl -sS -m 60 --noproxy '*' http://host.pyro.internal:${allowedPort}/file`,
        );
        expect(fetched.stdout.split("\n").slice(0, 2)).toEqual([content, content]);

        // A name not on the list: refused by the proxy before any lookup.
        const refused = await exec(
          "curl -sS -m 60 -o /dev/null -w '%{http_code}' http://not-allowed.test/",
        );
        expect(refused.stdout).toBe("403");
        const tunnel = await exec("curl -sS -m 60 https://not-allowed.test/ 2>&1");
        expect(tunnel.exit_code).not.toBe(0);
        expect(tunnel.stdout).toContain("403");

        // The second loopback server: through the proxy, the alias, slirp's host address.
        const unreachable = await exec(
          [
            `curl -sS -m 60 -o /dev/null -w '%{http_code}\\n' http://host.pyro.internal:${otherPort}/`,
            `curl -sS -m 60 -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:${otherPort}/`,
            `curl -sS -m 5 --noproxy '*' http://host.pyro.internal:${otherPort}/ || echo direct-failed`,
            `curl -sS -m 5 --noproxy '*' http://10.0.2.2:${otherPort}/ || echo gateway-failed`,
          ].join("; "),
        );
        expect(unreachable.stdout).not.toContain("the other server");
        expect(unreachable.stdout).toMatch(/^403\n/);
        expect(unreachable.stdout).toContain("direct-failed");
        expect(unreachable.stdout).toContain("gateway-failed");

        const log = await pyro.networkLogWorkspace(id);
        const logged = log.entries.map((entry) => `${entry.host}:${entry.port}`);
        expect(logged).toEqual(
          expect.arrayContaining([
            "not-allowed.test:80",
            "not-allowed.test:443",
            `host.pyro.internal:${otherPort}`,
          ]),
        );
        expect(log.entries[0]?.reason).toContain("not on the allow list");

        // A published port: the guest's service on 127.0.0.1 of the host.
        const started = await pyro.startService(id, "web", {
          command: GUEST_SERVER,
          readiness: { type: "tcp", address: "127.0.0.1:8000" },
          published_ports: [{ guest_port: 8000 }],
        });
        const [published] = started.published_ports ?? [];
        expect(published).toMatchObject({ guest_port: 8000, host: "127.0.0.1" });
        const port = published?.host_port as number;
        expect(await hostGet(port)).toBe("from the guest /");
        expect((await pyro.statusService(id, "web")).published_ports).toEqual([published]);
        expect((await pyro.listServices(id)).services[0]?.published_ports).toEqual([published]);
        expect((await pyro.stopService(id, "web")).published_ports).toEqual([]);
        expect(await hostGet(port)).toBe("error ECONNREFUSED");

        // A service that ends by itself: its port closes once pyro sees it ended.
        const brief = await pyro.startService(id, "brief", {
          command: `node -e 'require("http").createServer((q, r) => r.end("brief")).listen(8001); setTimeout(() => process.exit(0), 4000)'`,
          readiness: { type: "tcp", address: "127.0.0.1:8001" },
          published_ports: [{ guest_port: 8001 }],
        });
        const briefPort = brief.published_ports?.[0]?.host_port as number;
        expect(await hostGet(briefPort)).toBe("brief");
        await new Promise((resolve) => setTimeout(resolve, 6000));
        expect(await pyro.statusService(id, "brief")).toMatchObject({
          state: "exited",
          published_ports: [],
        });
        expect(await hostGet(briefPort)).toBe("error ECONNREFUSED");

        // Closed by a reset ...
        const again = await pyro.startService(id, "web", {
          command: GUEST_SERVER,
          readiness: { type: "tcp", address: "127.0.0.1:8000" },
          published_ports: [{ guest_port: 8000 }],
        });
        const resetPort = again.published_ports?.[0]?.host_port as number;
        expect(await hostGet(resetPort)).toBe("from the guest /");
        await pyro.resetWorkspace(id);
        expect(await hostGet(resetPort)).toBe("error ECONNREFUSED");

        // ... and by a delete; the network log outlives the reset.
        expect((await pyro.networkLogWorkspace(id)).total_count).toBe(log.total_count);
        const last = await pyro.startService(id, "web", {
          command: GUEST_SERVER,
          readiness: { type: "tcp", address: "127.0.0.1:8000" },
          published_ports: [{ guest_port: 8000 }],
        });
        const deletePort = last.published_ports?.[0]?.host_port as number;
        expect(await hostGet(deletePort)).toBe("from the guest /");
        await pyro.deleteWorkspace(id);
        expect(await hostGet(deletePort)).toBe("error ECONNREFUSED");
      } finally {
        allowed.close();
        other.close();
      }
    },
  );
});
