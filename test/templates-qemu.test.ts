/**
 * Booted-guest templates on the QEMU backend (docs/qemu-backend.md, "Templates"): create and
 * reset restore a saved guest, each restored guest is a fresh sandbox (its own random state,
 * identity and the host's time), a damaged template falls back to a cold boot with the
 * reason recorded, and a create killed during a restore leaves nothing running. The tests
 * share one template, built by the first create into a private environment cache (the
 * environment itself is the shared one, linked in). Skipped where qemu or debian:12 is missing.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Manager } from "../src/core/manager.js";
import { defaultEnvironmentCacheDir } from "../src/store/layout.js";
import type { RuntimeRecord } from "../src/store/records.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { exitOf, useTempState, waitFor } from "./helpers.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let cacheDir = "";

let savedSetting: string | undefined;
beforeAll(() => {
  // Opt-in (see templates.ts); the CLI a test starts inherits it.
  savedSetting = process.env.PYRO_QEMU_TEMPLATES;
  process.env.PYRO_QEMU_TEMPLATES = "1";
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-templates-"));
  fs.symlinkSync(
    path.join(defaultEnvironmentCacheDir(), "debian-12"),
    path.join(cacheDir, "debian-12"),
  );
});
afterAll(() => {
  if (savedSetting === undefined) delete process.env.PYRO_QEMU_TEMPLATES;
  else process.env.PYRO_QEMU_TEMPLATES = savedSetting;
  if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
});

function templateDirs(): string[] {
  const dir = path.join(cacheDir, "templates");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((entry) => /^[0-9a-f]{32}$/.test(entry))
    .map((entry) => path.join(dir, entry));
}

/** Streamed: a template's RAM file is as large as the guest's memory. */
function sha256(file: string): string {
  const hash = createHash("sha256");
  const buffer = Buffer.alloc(4 * 1024 * 1024);
  const fd = fs.openSync(file, "r");
  try {
    for (let read = fs.readSync(fd, buffer); read > 0; read = fs.readSync(fd, buffer)) {
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** MiB of a restored guest's RAM that is its own: the private copies in qemu's largest mapping. */
function privateGuestMib(qemuPid: number): number {
  let largest = { size: 0, anonymous: 0 };
  let current = largest;
  for (const line of fs.readFileSync(`/proc/${qemuPid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      current = { size: parseInt(head[2] ?? "0", 16) - parseInt(head[1] ?? "0", 16), anonymous: 0 };
      if (current.size > largest.size) largest = current;
    }
    const anonymous = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anonymous) current.anonymous += Number(anonymous[1]) / 1024;
  }
  return largest.anonymous;
}

function runtimeOf(pyro: Manager, id: string): RuntimeRecord {
  const file = path.join(pyro.context.layout.workspaceDir(id), "workspace.json");
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { runtime: RuntimeRecord }).runtime;
}

/** What a fresh sandbox must not share with another restored from the same template. */
async function identity(pyro: Manager, id: string) {
  const before = Date.now();
  const result = await pyro.execWorkspace(id, {
    command:
      "date +%s.%N; cat /proc/sys/kernel/random/uuid; head -c 16 /dev/urandom | od -An -tx1; hostname; cat /etc/machine-id",
  });
  const after = Date.now();
  const [clock = "", uuid, urandom, hostname, machineId] = result.stdout.trim().split("\n");
  const guestMs = Number(clock) * 1000;
  return { uuid, urandom, hostname, machineId, lowest: guestMs - after, highest: guestMs - before };
}

describe("qemu backend: booted-guest templates", () => {
  const state = useTempState();

  const qemuManager = async (skip: (note?: string) => void): Promise<Manager> => {
    const reason = await qemuUnavailableReason();
    if (reason) skip(reason);
    return state.manager({ backend: "qemu", environmentCacheDir: cacheDir });
  };

  it(
    "restores two fresh sandboxes from one template, and resets restore too",
    { timeout: 600_000 },
    async ({ skip }) => {
      const pyro = await qemuManager(skip);
      const first = await pyro.createWorkspace({});
      const second = await pyro.createWorkspace({});
      for (const id of [first.workspace_id, second.workspace_id]) {
        expect(runtimeOf(pyro, id)).toMatchObject({
          boot_mode: "template",
          template_fallback: null,
        });
      }
      // The kernel's CRNG was reseeded with host entropy (RNDADDENTROPY + RNDRESEEDCRNG).
      const ready = JSON.parse(
        fs.readFileSync(
          path.join(pyro.context.layout.workspaceDir(first.workspace_id), "runtime", "ready.json"),
          "utf8",
        ),
      ) as { refresh: { rng_reseeded: boolean; rng_detail: string } };
      expect(ready.refresh).toMatchObject({ rng_reseeded: true });
      expect(templateDirs()).toHaveLength(1);
      const [template = ""] = templateDirs();

      // The image chain: environment image <- template's disk (read-only) <- sandbox overlay.
      const overlay = path.join(
        pyro.context.layout.workspaceDir(first.workspace_id),
        "runtime",
        "disk.qcow2",
      );
      const info = spawnSync(
        "qemu-img",
        ["info", "--backing-chain", "--output=json", "-U", overlay],
        {
          encoding: "utf8",
        },
      );
      const chain = (JSON.parse(info.stdout) as Array<{ filename: string }>).map(
        (image) => image.filename,
      );
      expect(chain).toEqual([
        overlay,
        path.join(template, "disk.qcow2"),
        path.join(cacheDir, "debian-12", "rootfs.ext4"),
      ]);
      expect(fs.statSync(path.join(template, "disk.qcow2")).mode & 0o222).toBe(0);

      const a = await identity(pyro, first.workspace_id);
      const b = await identity(pyro, second.workspace_id);
      expect(a.uuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.uuid).not.toBe(b.uuid);
      expect(a.urandom).not.toBe(b.urandom);
      expect(a.hostname).not.toBe(b.hostname);
      expect(a.machineId).toMatch(/^[0-9a-f]{32}$/);
      expect(a.machineId).not.toBe(b.machineId);
      for (const sample of [a, b]) {
        // The guest read its clock while the exec ran: within 1 s of the host's.
        expect(sample.lowest).toBeLessThanOrEqual(1_000);
        expect(sample.highest).toBeGreaterThanOrEqual(-1_000);
      }

      // create -> exec -> reset -> exec on a restored guest; the reset restores again.
      await pyro.execWorkspace(first.workspace_id, { command: "echo scratch > gone.txt" });
      const reset = await pyro.resetWorkspace(first.workspace_id, {});
      expect(reset.state).toBe("started");
      expect(runtimeOf(pyro, first.workspace_id)).toMatchObject({
        boot_mode: "template",
        template_fallback: null,
      });
      const after = await pyro.execWorkspace(first.workspace_id, {
        command: "ls; cat /proc/sys/kernel/random/uuid",
      });
      expect(after.exit_code).toBe(0);
      expect(after.stdout).not.toContain("gone.txt");
      expect(after.stdout.trim()).not.toBe(a.uuid);
      const again = await identity(pyro, first.workspace_id);
      expect(again.urandom).not.toBe(a.urandom);
      expect(again.lowest).toBeLessThanOrEqual(1_000);
      expect(again.highest).toBeGreaterThanOrEqual(-1_000);

      // Both guests ran on the template's RAM file, mapped privately: what they wrote (here
      // 256 MB in a tmpfs) is their own, and what they then freed goes back to the host
      // through their balloon. QEMU discards a reported page by punching a hole in the
      // RAM file before dropping its own copy; the private-discard guard qemu preloads
      // turns that punch into nothing, so the file is unchanged.
      const ramBefore = sha256(path.join(template, "ram.bin"));
      for (const id of [first.workspace_id, second.workspace_id]) {
        const pid = runtimeOf(pyro, id).vmm_pid as number;
        expect(fs.readFileSync(`/proc/${pid}/maps`, "utf8")).toMatch(/private-discard-\w+\.so/);
        const wrote = await pyro.execWorkspace(id, {
          command: "head -c 256M /dev/urandom > /dev/shm/fill && echo ok",
        });
        expect(wrote.stdout).toBe("ok\n");
        const held = privateGuestMib(pid);
        expect(held).toBeGreaterThan(256);
        await pyro.execWorkspace(id, { command: "rm /dev/shm/fill" });
        // Free page reporting runs about 2 s after the frees; TCG on a busy host is slower.
        await waitFor(() => privateGuestMib(pid) < held - 192, 90_000);
      }
      expect(sha256(path.join(template, "ram.bin"))).toBe(ramBefore);

      await pyro.deleteWorkspace(first.workspace_id);

      // A stopped restored workspace keeps its disk, backed by its own copy of the
      // template's layer: it starts again after the template is gone (a new image or agent
      // removes it).
      await pyro.execWorkspace(second.workspace_id, { command: "echo kept > kept.txt" });
      await pyro.stopWorkspace(second.workspace_id);
      const moved = `${template}.moved`;
      fs.renameSync(template, moved);
      try {
        await pyro.startWorkspace(second.workspace_id);
        const read = await pyro.execWorkspace(second.workspace_id, { command: "cat kept.txt" });
        expect(read).toMatchObject({ exit_code: 0, stdout: "kept\n" });
      } finally {
        fs.renameSync(moved, template);
      }
      await pyro.deleteWorkspace(second.workspace_id);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "never restores a guest with its balloon when qemu did not load the private-discard guard",
    { timeout: 300_000 },
    async ({ skip }) => {
      const pyro = await qemuManager(skip);
      const [library] = fs
        .readdirSync(path.join(cacheDir, "native"))
        .filter((name) => /^private-discard-\w+\.so$/.test(name))
        .map((name) => path.join(cacheDir, "native", name));
      if (!library) throw new Error("the first test builds the guard");
      // Not a library any more: ld.so says it cannot be preloaded and runs qemu without it.
      const good = fs.readFileSync(library);
      fs.chmodSync(library, 0o644);
      fs.writeFileSync(library, "not a shared object\n");
      try {
        const { workspace_id: id } = await pyro.createWorkspace({});
        const runtime = runtimeOf(pyro, id);
        expect(runtime.boot_mode).toBe("cold");
        expect(runtime.template_fallback).toMatch(
          /^restoring the template failed: .*qemu did not load the private-discard guard/,
        );
        // Nothing against the template itself: it is kept.
        expect(templateDirs()).toHaveLength(1);
        await pyro.deleteWorkspace(id);
      } finally {
        fs.writeFileSync(library, good);
        fs.chmodSync(library, 0o555);
      }
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "falls back to a cold boot, with the reason recorded, when the template is damaged",
    { timeout: 300_000 },
    async ({ skip }) => {
      const pyro = await qemuManager(skip);
      const [template] = templateDirs();
      if (!template) throw new Error("the first test builds the template");
      // Not a migration stream any more (its magic), its size unchanged: qemu refuses it.
      const stateFile = path.join(template, "state.mig");
      fs.chmodSync(stateFile, 0o644);
      const fd = fs.openSync(stateFile, "r+");
      fs.writeSync(fd, Buffer.from("JUNK"), 0, 4, 0);
      fs.closeSync(fd);

      const { workspace_id: id } = await pyro.createWorkspace({});
      const runtime = runtimeOf(pyro, id);
      expect(runtime.boot_mode).toBe("cold");
      expect(runtime.template_fallback).toMatch(
        /^restoring the template failed: guest boot failed: qemu/,
      );
      // Thrown away: the next create builds a good one.
      expect(templateDirs()).toEqual([]);
      expect((await pyro.execWorkspace(id, { command: "echo cold" })).stdout).toBe("cold\n");
      await pyro.deleteWorkspace(id);
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );

  it(
    "leaves no qemu or supervisor behind when a create is killed during its restore",
    { timeout: 300_000 },
    async ({ skip }) => {
      const pyro = await qemuManager(skip);
      // A template to restore from (the previous test threw the damaged one away).
      const { workspace_id: seeded } = await pyro.createWorkspace({});
      expect(runtimeOf(pyro, seeded).boot_mode).toBe("template");
      await pyro.deleteWorkspace(seeded);

      const child = spawn(
        process.execPath,
        [path.join(root, "dist", "cli", "main.js"), "workspace", "create", "debian:12", "--json"],
        {
          stdio: "ignore",
          env: {
            ...process.env,
            PYRO_BACKEND: "qemu",
            PYRO_STATE_DIR: state.stateDir(),
            PYRO_ENVIRONMENT_CACHE_DIR: cacheDir,
          },
        },
      );
      // Killed once qemu is loading the template (its supervisor has started it).
      const workspaces = pyro.context.layout.workspacesDir;
      await expect
        .poll(
          () =>
            fs.existsSync(workspaces) &&
            fs
              .readdirSync(workspaces)
              .some((id) => fs.existsSync(path.join(workspaces, id, "runtime", "vmm.pid"))),
          { timeout: 120_000, interval: 20 },
        )
        .toBe(true);
      child.kill("SIGKILL");
      await exitOf(child);

      await pyro.reapExpired();
      expect(qemuProcessesUnder(state.base())).toEqual([]);
      const supervisors = spawnSync("pgrep", ["-f", state.base()], {
        encoding: "utf8",
      }).stdout.trim();
      expect(supervisors).toBe("");
    },
  );
});
