import { spawn } from "node:child_process";
import fs from "node:fs";
import type net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { ERROR_CODES, PyroError, errorFromWire, type ErrorCode } from "../src/errors.js";
import { nextStep } from "../src/operations/hints.js";
import { AgentClient, isConnectionLost } from "../src/protocol/client.js";
import { withLock } from "../src/store/lock.js";
import { useTempState } from "./helpers.js";

const state = useTempState();
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

describe("error codes are documented once", () => {
  it("docs/errors.md lists exactly the codes of ErrorCode", () => {
    const doc = fs.readFileSync(path.join(root, "docs", "errors.md"), "utf8");
    const table = doc.slice(doc.indexOf("## Codes"));
    const documented = [...table.matchAll(/^\| `([a-z_]+)` /gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("every code has a meaning and a next step on both surfaces", () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(ERROR_CODES[code].length).toBeGreaterThan(10);
      expect(nextStep({ code }, "mcp")).toMatch(/\S/);
      expect(nextStep({ code }, "cli")).toMatch(/\S/);
    }
  });
});

describe("cause", () => {
  it("is kept on the error and sent as one short line, never a stack", () => {
    const inner = new Error(`EACCES: permission denied\n    at secret (/host/internal.js:1:1)`);
    const wrapped = new PyroError("backend_error", "could not run tar", {}, { cause: inner });
    expect(wrapped.cause).toBe(inner);
    const wire = wrapped.toJSON();
    expect(wire.details.cause).toBe("EACCES: permission denied");
    expect(JSON.stringify(wire)).not.toContain("internal.js");
    // Across the protocol the short cause survives.
    expect(errorFromWire(JSON.parse(JSON.stringify(wire))).details.cause).toBe(
      "EACCES: permission denied",
    );
  });

  it("is not repeated when the message already says it", () => {
    const inner = new Error("ENOENT: no such file");
    const wrapped = new PyroError("internal", `tar: ${inner.message}`, {}, { cause: inner });
    expect(wrapped.toJSON().details).toEqual({});
  });
});

describe("next steps follow the cause", () => {
  const guest = (reason: string) => ({ code: "guest_unavailable" as const, details: { reason } });

  it("offers allow_host_compat only when no guest can boot on this host", () => {
    expect(nextStep(guest("qemu_missing"))).toContain("allow_host_compat");
    expect(nextStep(guest("qemu_missing"), "cli")).toContain("--allow-host-compat");
    expect(nextStep(guest("qemu_missing"), "cli")).toContain("apt-get install qemu-system-x86");
    // PYRO_BACKEND=host: the operator chose no guest; the hint also says how to get one.
    expect(nextStep(guest("host_backend"))).toMatch(/allow_host_compat.*PYRO_BACKEND=auto/);
    for (const reason of [
      "environment_not_pulled",
      "network_unsupported",
      "backend_unavailable",
      "something_new",
    ]) {
      for (const surface of ["mcp", "cli"] as const) {
        expect(nextStep(guest(reason), surface)).not.toMatch(/allow.host.compat/);
      }
    }
    expect(nextStep({ code: "guest_unavailable" })).not.toMatch(/allow.host.compat/);
  });

  it("says what the cause needs", () => {
    expect(nextStep(guest("environment_not_pulled"), "cli")).toContain("pyro env pull");
    expect(nextStep(guest("network_unsupported"), "cli")).toContain("without --network");
    // A missing environment under an explicit qemu backend is not "check the id".
    const unpulled = { code: "not_found" as const, details: { reason: "environment_not_pulled" } };
    expect(nextStep(unpulled, "cli")).toContain("pyro env pull");
    expect(nextStep({ code: "backend_error", details: { reason: "boot_timeout" } })).toMatch(
      /TCG.*PYRO_BOOT_TIMEOUT_SECONDS/,
    );
    expect(nextStep({ code: "backend_error", details: { reason: "connection_lost" } })).toContain(
      "workspace_reset",
    );
    expect(nextStep({ code: "limit_exceeded", details: { limit: "shells" } })).toContain(
      "shell_close",
    );
    expect(
      nextStep({ code: "limit_exceeded", details: { limit: "PYRO_MAX_SNAPSHOTS" } }, "cli"),
    ).toContain("snapshot delete");
    expect(nextStep({ code: "limit_exceeded", details: { limit: "max_active_vms" } })).toContain(
      "vm_reap_expired",
    );
    // A limit without its own hint does not get the active-VM advice.
    expect(
      nextStep({ code: "limit_exceeded", details: { limit: "PYRO_MAX_ARCHIVE_BYTES" } }),
    ).not.toContain("vm_delete");
  });
});

describe("the codes real failures get", () => {
  it("a sandbox whose agent died under a live connection: backend_error, connection lost", async () => {
    const manager = state.manager();
    try {
      const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
      await manager.execWorkspace(workspace_id, { command: "true" }); // a cached connection
      const record = JSON.parse(
        fs.readFileSync(
          path.join(state.stateDir(), "workspaces", workspace_id, "workspace.json"),
          "utf8",
        ),
      ) as { runtime: { pid: number } };
      // The agent dies while the exec is being sent: its socket is dead under the client.
      process.kill(-record.runtime.pid, "SIGKILL");
      const failure = await manager
        .execWorkspace(workspace_id, { command: "true" })
        .then(() => null)
        .catch((error: unknown) => error as PyroError);
      // Either the call saw the dead process first (stopped workspace) or the dead socket;
      // never "invalid_argument", which blames the caller's input.
      expect(failure).not.toBeNull();
      expect(["backend_error", "invalid_state"]).toContain(failure?.code);
      if (failure?.code === "backend_error") {
        expect(failure.details.reason).toMatch(/connection_lost|agent_unreachable/);
      }
    } finally {
      manager.close();
    }
  });

  it("a request whose write fails on a dead socket: connection lost, not invalid_argument", async () => {
    const manager = state.manager();
    try {
      const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
      const record = JSON.parse(
        fs.readFileSync(
          path.join(state.stateDir(), "workspaces", workspace_id, "workspace.json"),
          "utf8",
        ),
      ) as { runtime: { socket_path: string } };
      const { client } = await AgentClient.connect(record.runtime.socket_path);
      // The socket dies under the client (as when the agent is killed); the client has not
      // seen the close yet when the request is written.
      (client as unknown as { socket: net.Socket }).socket.destroy();
      const failure = await client
        .call("exec", { command: "true", timeout_seconds: 5 })
        .catch((error: unknown) => error as PyroError);
      expect(failure).toBeInstanceOf(PyroError);
      expect((failure as PyroError).code).toBe("backend_error");
      // The agent pool retries exactly these on a fresh connection.
      expect(isConnectionLost(failure)).toBe(true);
      expect(nextStep(failure as PyroError)).toContain("workspace_reset");
    } finally {
      manager.close();
    }
  });

  it("a lock held by another process past the wait: busy, not invalid_state", async () => {
    const lockPath = path.join(state.base(), "locks", "workspace-x.lock");
    fs.mkdirSync(path.dirname(lockPath), { recursive: true });
    // Another OS process takes the lock and keeps it.
    const holder = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { withLock } from ${JSON.stringify(path.join(root, "dist/store/lock.js"))};
         await withLock(${JSON.stringify(lockPath)}, async () => {
           process.stdout.write("held\\n");
           await new Promise((resolve) => setTimeout(resolve, 30000));
         });`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once("data", () => resolve());
        holder.once("exit", (code) => reject(new Error(`holder exited with ${code}`)));
      });
      const failure = await withLock(lockPath, async () => "taken", { waitMs: 300 }).catch(
        (error: unknown) => error as PyroError,
      );
      expect(failure).toBeInstanceOf(PyroError);
      expect((failure as PyroError).code).toBe("busy");
      expect((failure as PyroError).message).toContain("another pyro process is busy with it");
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
