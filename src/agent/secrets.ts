import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";

import { Transform } from "node:stream";

import { ValidationError } from "../errors.js";
import { Redactor } from "../shared/redact.js";
import type { AgentContext } from "./context.js";

/** Where a real guest keeps its workspace's secrets: /run is a tmpfs there (guest init). */
export const GUEST_SECRETS_DIR = "/run/pyro-secrets";

/** The values last written, for what the agent itself stores (service logs). */
let redactor: Redactor | null = null;

/**
 * A pass-through that redacts the workspace's secret values from a service's output before
 * its log file gets it: on the host backend that file is on the host's disk, in a guest on
 * its tmpfs; either way no value is stored. (The host redacts what it reads again.)
 */
export function redactingLogStream(): Transform {
  const stream = redactor?.byteStream() ?? null;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, stream ? stream.write(chunk) : chunk);
    },
    flush(callback) {
      callback(null, stream ? stream.end() : undefined);
    },
  });
}

/** Same rule as the host's (src/core/secrets.ts): a name is also a safe file name. */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * `secrets.write`: makes `dir` hold exactly the given secrets, one file each (mode 0400 in
 * a 0700 directory), each written to a temp name and renamed into place. Its location is
 * exported as PYRO_SECRETS_DIR to every later command, shell and service. On the host
 * backend, `dir` is in the agent's private state directory (never under /workspace, so
 * it is in no diff, export or snapshot).
 */
export function registerSecretsHandler(context: AgentContext, dir: string): void {
  context.handlers.set("secrets.write", async ({ body }) => {
    const secrets = Array.isArray(body.secrets) ? body.secrets : [];
    const wanted = new Map<string, string>();
    for (const item of secrets as Array<{ name?: unknown; value?: unknown }>) {
      // Never echo a value: the name alone says which item is wrong.
      if (typeof item.name !== "string" || !SECRET_NAME.test(item.name)) {
        throw new ValidationError(`secrets: a secret name must match ${SECRET_NAME.source}`, {
          field: "secrets.name",
        });
      }
      if (typeof item.value !== "string") {
        throw new ValidationError(`secrets.${item.name}: the value must be a string`, {
          field: `secrets.${item.name}`,
        });
      }
      wanted.set(item.name, item.value);
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    for (const [name, value] of wanted) {
      const temp = path.join(dir, `.${name}.tmp-${randomBytes(4).toString("hex")}`);
      fs.writeFileSync(temp, value, { mode: 0o400, flag: "wx" });
      fs.renameSync(temp, path.join(dir, name));
    }
    for (const entry of fs.readdirSync(dir)) {
      if (!wanted.has(entry)) fs.rmSync(path.join(dir, entry), { force: true, recursive: true });
    }
    process.env.PYRO_SECRETS_DIR = dir;
    redactor =
      wanted.size > 0 ? new Redactor([...wanted].map(([name, value]) => ({ name, value }))) : null;
    return { dir, count: wanted.size };
  });
}
