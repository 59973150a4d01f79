/**
 * A registry stand-in for `npm install` tests: one package, served on 127.0.0.1 of the host
 * by a plain HTTP server (its packument and a .tgz built here with node-tar), reached from a
 * guest as `host.pyro.internal:<port>`. Nothing else answers (404), and every path asked
 * for is recorded, so a test sees what npm fetched.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import path from "node:path";

import { c as createTar } from "tar";

export const DEMO_PACKAGE = "pyro-demo-pkg";
export const DEMO_VERSION = "1.0.0";
/** What the package's main module exports: `padLeft("7", 3) === "007"`. */
const DEMO_MAIN = `module.exports = function padLeft(text, width, fill = "0") {
  text = String(text);
  return text.length >= width ? text : fill.repeat(width - text.length) + text;
};
`;

export interface LocalRegistry {
  port: number;
  /** The paths npm asked for, in order. */
  requests: string[];
  close: () => Promise<void>;
}

/** Builds the package's .tgz (npm's layout: everything under `package/`) in `workDir`. */
async function packDemo(workDir: string): Promise<Buffer> {
  const root = path.join(workDir, "package");
  fs.mkdirSync(root, { recursive: true });
  const manifest = { name: DEMO_PACKAGE, version: DEMO_VERSION, main: "index.js", license: "MIT" };
  fs.writeFileSync(path.join(root, "package.json"), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(root, "index.js"), DEMO_MAIN);
  const file = path.join(workDir, `${DEMO_PACKAGE}-${DEMO_VERSION}.tgz`);
  await createTar({ gzip: true, cwd: workDir, file, portable: true }, ["package"]);
  return fs.readFileSync(file);
}

/** Starts the registry on 127.0.0.1 (a free port); `workDir` holds the package build. */
export async function startLocalRegistry(workDir: string): Promise<LocalRegistry> {
  const tarball = await packDemo(workDir);
  const tarballPath = `/${DEMO_PACKAGE}/-/${DEMO_PACKAGE}-${DEMO_VERSION}.tgz`;
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    // A proxied request carries an absolute URI; the path is what the registry serves.
    const url = new URL(request.url ?? "/", "http://registry.invalid");
    requests.push(url.pathname);
    if (url.pathname === `/${DEMO_PACKAGE}`) {
      // The tarball is fetched from the name npm used for the registry (host.pyro.internal
      // in a guest), as a real registry's own URL would be.
      const origin = `http://${request.headers.host ?? "127.0.0.1"}`;
      const packument = {
        name: DEMO_PACKAGE,
        "dist-tags": { latest: DEMO_VERSION },
        versions: {
          [DEMO_VERSION]: {
            name: DEMO_PACKAGE,
            version: DEMO_VERSION,
            main: "index.js",
            dist: {
              tarball: `${origin}${tarballPath}`,
              shasum: createHash("sha1").update(tarball).digest("hex"),
              integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
            },
          },
        },
      };
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify(packument));
    } else if (url.pathname === tarballPath) {
      response.setHeader("content-type", "application/octet-stream");
      response.end(tarball);
    } else {
      response.statusCode = 404;
      response.end(JSON.stringify({ error: "not found" }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // npm keeps its connections alive: without this, close would wait on them.
        server.closeAllConnections();
      }),
  };
}
