import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { processIsAlive } from "../src/process/process-group.js";
import { Manager } from "../src/core/manager.js";
import type { PyroError } from "../src/errors.js";
import { nextStep } from "../src/operations/hints.js";
import { editJson, useTempState, withEnv } from "./helpers.js";

const state = useTempState();

describe("one-shot VMs on the host backend", () => {
  it("creates, starts, execs once and deletes itself", async () => {
    const manager = state.manager();
    const created = await manager.createVm({
      environment: "debian:12",
      vcpu_count: 1,
      mem_mib: 512,
      ttl_seconds: 600,
      allow_host_compat: true,
    });
    const started = await manager.startVm(created.vm_id);
    expect(started.state).toBe("started");
    const executed = await manager.execVm(created.vm_id, {
      command: "printf 'git version 2.43.0\\n'",
      timeout_seconds: 30,
    });
    expect(executed.exit_code).toBe(0);
    expect(executed.execution_mode).toBe("host_compat");
    expect(executed.stdout).toContain("git version");
    await expect(manager.statusVm(created.vm_id)).rejects.toThrow(/does not exist/);
  });

  it("kills a command that exceeds its timeout and reports exit code 124", async () => {
    const manager = state.manager();
    const { vm_id } = await manager.createVm({
      environment: "debian:12-base",
      allow_host_compat: true,
    });
    await manager.startVm(vm_id);
    const result = await manager.execVm(vm_id, {
      command: "sleep 5 & sleep 5; echo never",
      timeout_seconds: 1,
    });
    expect(result.exit_code).toBe(124);
    expect(result.stderr).toContain("timed out");
    expect(result.stdout).not.toContain("never");
  });

  it("stops and deletes", async () => {
    const manager = state.manager();
    const { vm_id } = await manager.createVm({
      environment: "debian:12-base",
      allow_host_compat: true,
    });
    const started = await manager.startVm(vm_id);
    expect(started.state).toBe("started");
    const stopped = await manager.stopVm(vm_id);
    expect(stopped.state).toBe("stopped");
    const deleted = await manager.deleteVm(vm_id);
    expect(deleted.deleted).toBe(true);
    await expect(manager.statusVm(vm_id)).rejects.toThrow(/does not exist/);
  });

  it("reaps expired VMs, created or started, and stops their sandboxes", async () => {
    const manager = state.manager();
    const created = await manager.createVm({
      environment: "debian:12-base",
      ttl_seconds: 60,
      allow_host_compat: true,
    });
    const running = await manager.createVm({
      environment: "debian:12-base",
      ttl_seconds: 60,
      allow_host_compat: true,
    });
    await manager.startVm(running.vm_id);
    const runtime = JSON.parse(
      (await import("node:fs")).readFileSync(
        manager.context.layout.vmRecord(running.vm_id),
        "utf8",
      ),
    ) as { runtime: { pid: number } };
    for (const id of [created.vm_id, running.vm_id]) {
      editJson(manager.context.layout.vmRecord(id), (record) => {
        record.expires_at = 0;
      });
    }
    const result = await manager.reapExpired();
    expect(result.count).toBe(2);
    expect(processIsAlive(runtime.runtime.pid)).toBe(false);
    await expect(manager.statusVm(created.vm_id)).rejects.toThrow(/does not exist/);
  });

  it.each([
    [{ vcpu_count: 0, mem_mib: 512, ttl_seconds: 600 }, "vcpu_count must be between"],
    [{ vcpu_count: 1, mem_mib: 64, ttl_seconds: 600 }, "mem_mib must be between"],
    [{ vcpu_count: 1, mem_mib: 512, ttl_seconds: 30 }, "ttl_seconds must be between"],
  ])("validates limits %o", async (limits, message) => {
    const manager = state.manager();
    await expect(manager.createVm({ environment: "debian:12-base", ...limits })).rejects.toThrow(
      message,
    );
  });

  it("enforces the max active VM count across managers", async () => {
    const manager = state.manager({ maxActiveVms: 1 });
    await manager.createVm({ environment: "debian:12-base", allow_host_compat: true });
    const other = state.manager({ maxActiveVms: 1 });
    await expect(
      other.createVm({ environment: "debian:12-base", allow_host_compat: true }),
    ).rejects.toThrow("max active VMs reached");
  });

  it("validates state transitions and arguments", async () => {
    const manager = state.manager();
    const { vm_id } = await manager.createVm({
      environment: "debian:12-base",
      allow_host_compat: true,
    });
    await expect(
      manager.execVm(vm_id, { command: "echo hi", timeout_seconds: 30 }),
    ).rejects.toThrow("must be in 'started' state");
    await expect(manager.execVm(vm_id, { command: "echo hi", timeout_seconds: 0 })).rejects.toThrow(
      "must be positive",
    );
    await manager.startVm(vm_id);
    await expect(manager.startVm(vm_id)).rejects.toThrow("cannot be started from state");
  });

  it("reports an expired VM as automatically deleted", async () => {
    const manager = state.manager();
    const { vm_id } = await manager.createVm({
      environment: "debian:12-base",
      ttl_seconds: 60,
      allow_host_compat: true,
    });
    editJson(manager.context.layout.vmRecord(vm_id), (record) => {
      record.expires_at = 0;
    });
    await expect(manager.statusVm(vm_id)).rejects.toThrow("expired and was automatically deleted");
    await expect(manager.statusVm(vm_id)).rejects.toThrow("does not exist");
  });

  it("rejects an unknown backend and accepts the named guest backends", () => {
    expect(() => new Manager({ backend: "nope", baseDir: state.stateDir() })).toThrow(
      "invalid backend",
    );
    expect(new Manager({ backend: "firecracker", baseDir: state.stateDir() }).backendName).toBe(
      "firecracker",
    );
    expect(new Manager({ backend: "mock", baseDir: state.stateDir() }).backendName).toBe("host");
  });

  it("uses the canonical environment cache dir", async () => {
    const cache = path.join(state.base(), "cache");
    await withEnv({ PYRO_ENVIRONMENT_CACHE_DIR: cache }, async () => {
      const manager = state.manager();
      expect(manager.environmentCacheDir).toBe(cache);
      await expect(manager.listEnvironments()).resolves.toMatchObject({
        cache_dir: cache,
        environments: [
          { name: "debian:12" },
          { name: "debian:12-base" },
          { name: "debian:12-build" },
        ],
      });
    });
  });

  it("reports network info for a VM without networking", async () => {
    const manager = state.manager();
    const { vm_id } = await manager.createVm({
      environment: "debian:12-base",
      allow_host_compat: true,
    });
    const status = await manager.statusVm(vm_id);
    const info = await manager.networkInfoVm(vm_id);
    expect(status.network_enabled).toBe(false);
    expect(status.guest_ip).toBeNull();
    expect(info.network_enabled).toBe(false);
  });

  it("runs a command end to end", async () => {
    const manager = state.manager();
    const result = await manager.runVm({
      environment: "debian:12-base",
      command: "printf 'ok\\n'",
      allow_host_compat: true,
    });
    expect(result.exit_code).toBe(0);
    expect(result.stdout).toBe("ok\n");
  });

  it("fails closed without the host_compat opt-in", async () => {
    const manager = state.manager();
    const { vm_id } = await manager.createVm({ environment: "debian:12-base", ttl_seconds: 600 });
    await expect(manager.startVm(vm_id)).rejects.toThrow("guest boot is unavailable");
    await expect(manager.runVm({ command: "true" })).rejects.toThrow("guest boot is unavailable");
  });

  it("fails closed on a guest backend this build cannot boot", async () => {
    const manager = state.manager({ backend: "firecracker" });
    const { vm_id } = await manager.createVm({ allow_host_compat: true });
    await expect(manager.startVm(vm_id)).rejects.toThrow("guest boot is unavailable");
  });

  it("says how to get a guest environment that is not pulled, and leaves nothing", async () => {
    const emptyCache = path.join(state.base(), "empty-cache");
    const manager = state.manager({ backend: "qemu", environmentCacheDir: emptyCache });
    const { vm_id } = await manager.createVm({ environment: "debian:12-build" });
    await expect(manager.startVm(vm_id)).rejects.toThrow(
      /environment debian:12-build is not installed .*run `pyro env pull debian:12-build`/,
    );
    const status = await manager.statusVm(vm_id);
    expect(status.state).toBe("created"); // a later start may still succeed
    expect(status.last_error).toContain("pyro env pull debian:12-build");
    expect(fs.existsSync(path.join(state.stateDir(), "vms", vm_id, "runtime"))).toBe(false);
  });

  it("auto picks host only with the opt-in, and says why no guest could be used", async () => {
    const emptyCache = path.join(state.base(), "empty-cache");
    const manager = new Manager({
      baseDir: state.stateDir(),
      environmentCacheDir: emptyCache,
      backend: "auto",
    });
    try {
      const refused = (await manager
        .createVm({ environment: "debian:12-base" })
        .catch((error: unknown) => error)) as PyroError;
      expect(refused.code).toBe("guest_unavailable");
      expect(refused.message).toMatch(/guest boot is unavailable: .*(not pulled|not installed)/);
      // Host processes are offered only when no guest can boot here (qemu missing), never
      // when the guest is one `pyro env pull` away.
      if (refused.details.reason === "environment_not_pulled") {
        expect(refused.message).not.toContain("allow_host_compat");
        expect(nextStep(refused)).not.toContain("allow_host_compat");
        expect(nextStep(refused)).toContain("pyro env pull");
      } else {
        expect(refused.details.reason).toBe("qemu_missing");
        expect(refused.message).toContain("allow_host_compat");
      }
      const vm = await manager.createVm({ environment: "debian:12-base", allow_host_compat: true });
      expect(vm.backend).toBe("host");
      expect(vm.execution_mode).toBe("host_compat");
      await manager.deleteVm(vm.vm_id);
    } finally {
      manager.close();
    }
  });

  it("caps captured output and says it truncated", async () => {
    const manager = state.manager();
    const result = await manager.runVm({
      command: "head -c 3000000 /dev/zero | tr '\\0' a",
      allow_host_compat: true,
    });
    expect(result.exit_code).toBe(0);
    expect(result.stdout_truncated).toBe(true);
    expect(result.stdout).toContain("stdout truncated");
    expect(result.stdout.length).toBeLessThan(1_100_000);
  });

  it("returns a full 1 MiB of control characters on each stream (six-fold JSON escaping)", async () => {
    const manager = state.manager();
    const result = await manager.runVm({
      command:
        "head -c 1048576 /dev/zero | tr '\\0' '\\001'; head -c 1048576 /dev/zero | tr '\\0' '\\002' >&2",
      allow_host_compat: true,
    });
    expect(result.exit_code).toBe(0);
    expect(result.stdout.length).toBe(1048576);
    expect(result.stderr.length).toBe(1048576);
    expect(result.stdout_truncated).toBe(false);
  });
});
