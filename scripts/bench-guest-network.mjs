// Guest networking overhead (BENCH_GUEST_ONLY=network runs only this section): a 50 MB
// download from an HTTP server on 127.0.0.1 of the host, inside a guest with network_policy
// egress (through the egress proxy, and through the transparent forward of an allowed
// host.pyro.internal port) vs the same download by curl on the host itself.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import crypto from "node:crypto";
import http from "node:http";
import path from "node:path";

import { Manager } from "../dist/index.js";

const MB = 1_000_000;

export async function networkSection(base, report) {
  const size = Number(process.env.BENCH_NETWORK_MB ?? 50) * MB;
  const blob = crypto.randomBytes(size);
  const server = http.createServer((request, response) => {
    response.writeHead(200, { "content-length": String(blob.length) });
    response.end(blob);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  const manager = new Manager({ baseDir: path.join(base, "network-state"), backend: "qemu" });
  try {
    const rounds = Number(process.env.BENCH_NETWORK_ROUNDS ?? 3);
    const curlArgs = ["-sS", "-o", "/dev/null", "-w", "%{time_total}"];
    const host = [];
    for (let i = 0; i < rounds; i += 1) {
      // Not spawnSync: the server answering curl lives in this process's event loop.
      const run = await promisify(execFile)("curl", [...curlArgs, `http://127.0.0.1:${port}/blob`]);
      host.push(Number(run.stdout) * 1000);
    }
    const workspace = await manager.createWorkspace({
      network_policy: "egress",
      allow_hosts: [`host.pyro.internal:${port}`],
    });
    const id = workspace.workspace_id;
    const guestCurl = async (extra) => {
      const samples = [];
      for (let i = 0; i < rounds; i += 1) {
        const result = await manager.execWorkspace(id, {
          command: `curl ${extra} -sS -o /dev/null -w '%{time_total}' http://host.pyro.internal:${port}/blob`,
          timeout_seconds: 600,
        });
        if (result.exit_code !== 0) throw new Error(`guest curl failed: ${result.stderr}`);
        samples.push(Number(result.stdout) * 1000);
      }
      return samples;
    };
    const viaProxy = await guestCurl("");
    const viaForward = await guestCurl("--noproxy '*'");
    await manager.deleteWorkspace(id);
    const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
    const mbps = (ms) => (size / MB / (ms / 1000)).toFixed(1);
    report(
      `network: ${size / MB} MB download in the guest through the egress proxy (median of ${rounds})`,
      `${median(viaProxy).toFixed(0)} ms (${mbps(median(viaProxy))} MB/s)`,
      `${median(host).toFixed(0)} ms (${mbps(median(host))} MB/s) for curl on the host`,
      [median(viaProxy), median(host)],
    );
    report(
      `network: the same through the transparent host.pyro.internal forward`,
      `${median(viaForward).toFixed(0)} ms (${mbps(median(viaForward))} MB/s)`,
      `${median(host).toFixed(0)} ms for curl on the host`,
      [median(viaForward), median(host)],
    );
  } finally {
    manager.close();
    server.close();
  }
}
