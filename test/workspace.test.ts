import fs from "node:fs";
import path from "node:path";

import * as tar from "tar";
import { describe, expect, it } from "vitest";

import { processIsAlive } from "../src/process/process-group.js";
import { editJson, listDirs, useTempState, withEnv, writeTree } from "./helpers.js";

const state = useTempState();

function seedDir(files: Record<string, string> = { "note.txt": "hello\n" }, name = "seed"): string {
  return writeTree(path.join(state.base(), name), files);
}

function readRecord(id: string): Record<string, unknown> {
  return JSON.parse(
    fs.readFileSync(path.join(state.stateDir(), "workspaces", id, "workspace.json"), "utf8"),
  ) as Record<string, unknown>;
}

function agentPid(id: string): number {
  return (readRecord(id).runtime as { pid: number }).pid;
}

describe("workspace lifecycle", () => {
  it("creates, execs with a persisted command log, and deletes", async () => {
    const manager = state.manager();
    const created = await manager.createWorkspace({
      environment: "debian:12-base",
      allow_host_compat: true,
    });
    expect(created.state).toBe("started");
    expect(created.workspace_path).toBe("/workspace");
    expect(created.execution_mode).toBe("host_compat");
    const first = await manager.execWorkspace(created.workspace_id, {
      command: "printf 'hello\\n' > note.txt",
      timeout_seconds: 30,
    });
    const second = await manager.execWorkspace(created.workspace_id, {
      command: "cat note.txt",
      timeout_seconds: 30,
    });
    expect(first.exit_code).toBe(0);
    expect(second.stdout).toBe("hello\n");
    const status = await manager.statusWorkspace(created.workspace_id);
    expect(status.command_count).toBe(2);
    expect(status.last_command).toMatchObject({
      sequence: 2,
      command: "cat note.txt",
      exit_code: 0,
    });
    const logs = await manager.logsWorkspace(created.workspace_id);
    expect(logs.count).toBe(2);
    expect(logs.entries[1]).toMatchObject({
      sequence: 2,
      command: "cat note.txt",
      exit_code: 0,
      stdout: "hello\n",
      stderr: "",
    });
    expect(typeof logs.entries[1]?.duration_ms).toBe("number");
    const pid = agentPid(created.workspace_id);
    const deleted = await manager.deleteWorkspace(created.workspace_id);
    expect(deleted.deleted).toBe(true);
    expect(processIsAlive(pid)).toBe(false);
    await expect(manager.statusWorkspace(created.workspace_id)).rejects.toThrow("does not exist");
  });

  it("runs commands in a cwd under /workspace and refuses one outside", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seedDir({ "src/a.txt": "a\n" }),
    });
    const result = await manager.execWorkspace(workspace_id, { command: "cat a.txt", cwd: "src" });
    expect(result.stdout).toBe("a\n");
    expect(result.cwd).toBe("/workspace/src");
    await expect(
      manager.execWorkspace(workspace_id, { command: "true", cwd: "../etc" }),
    ).rejects.toThrow("cwd must stay inside /workspace");
  });

  it("builds a seeded baseline from the archive it sent, never reading the tree back", async () => {
    const manager = state.manager();
    const source = seedDir({ "note.txt": "hello\n", "bin/tool": "#!/bin/sh\n", "open.txt": "o\n" });
    fs.chmodSync(path.join(source, "bin/tool"), 0o755);
    fs.chmodSync(path.join(source, "open.txt"), 0o666); // the umask must not apply
    fs.chmodSync(path.join(source, "note.txt"), 0o600);
    // An agent that cannot export: create must not need to.
    const created = await withEnv({ PYRO_AGENT_FAILPOINTS: "archive.export" }, () =>
      manager.createWorkspace({ allow_host_compat: true, seed_path: source }),
    );
    const id = created.workspace_id;
    const diff = await manager.diffWorkspace(id);
    expect(diff.entries).toEqual([]);
    const modes = await manager.execWorkspace(id, {
      command: "stat -c '%a %n' bin/tool open.txt note.txt",
    });
    expect(modes.stdout).toBe("755 bin/tool\n666 open.txt\n600 note.txt\n");
    await manager.execWorkspace(id, { command: "chmod a-x bin/tool && echo more >> note.txt" });
    expect((await manager.diffWorkspace(id)).entries.map((e) => [e.path, e.status])).toEqual([
      ["bin/tool", "mode_changed"],
      ["note.txt", "modified"],
    ]);
    // A reset restores the baseline it kept, modes included.
    await manager.resetWorkspace(id);
    expect((await manager.diffWorkspace(id)).changed).toBe(false);
  });

  it("answers create, reset and fork without asking the sandbox it just booted", async () => {
    const manager = state.manager();
    // Agents that never answer service.list: a view that asked would never come back.
    await withEnv({ PYRO_AGENT_FAILPOINTS: "service.list:stall" }, async () => {
      const created = await manager.createWorkspace({ allow_host_compat: true });
      const id = created.workspace_id;
      expect(created).toMatchObject({ state: "started", service_count: 0 });
      const reset = await manager.resetWorkspace(id);
      expect(reset).toMatchObject({ reset_count: 1, service_count: 0 });
      const forked = await manager.forkWorkspace(id, { count: 2 });
      expect(forked.workspaces.map((fork) => fork.service_count)).toEqual([0, 0]);
      // The failpoint holds: status, which does ask, is still waiting.
      const status = manager.statusWorkspace(id).then(() => "answered");
      status.catch(() => undefined);
      const waited = new Promise((resolve) => setTimeout(() => resolve("waiting"), 500));
      expect(await Promise.race([status, waited])).toBe("waiting");
    });
  });

  it("seeds from a directory", async () => {
    const manager = state.manager();
    const source = seedDir();
    const created = await manager.createWorkspace({
      environment: "debian:12-base",
      allow_host_compat: true,
      seed_path: source,
    });
    expect(created.workspace_seed.mode).toBe("directory");
    expect(created.workspace_seed.seed_path).toBe(path.resolve(source));
    const executed = await manager.execWorkspace(created.workspace_id, { command: "cat note.txt" });
    expect(executed.stdout).toBe("hello\n");
    const status = await manager.statusWorkspace(created.workspace_id);
    expect(status.workspace_seed).toMatchObject({
      mode: "directory",
      seed_path: path.resolve(source),
    });
  });

  it.each(["seed.tgz", "seed.tar.gz", "seed.tar"])("seeds from a %s archive", async (name) => {
    const manager = state.manager();
    const src = seedDir({ "note.txt": "archive\n" }, "src");
    const archive = path.join(state.base(), name);
    await tar.c({ cwd: src, file: archive, gzip: !name.endsWith(".tar") }, ["note.txt"]);
    const created = await manager.createWorkspace({ allow_host_compat: true, seed_path: archive });
    expect(created.workspace_seed.mode).toBe("tar_archive");
    const executed = await manager.execWorkspace(created.workspace_id, { command: "cat note.txt" });
    expect(executed.stdout).toBe("archive\n");
  });

  it("refuses a seed that is neither a directory nor a tar archive", async () => {
    const manager = state.manager();
    const zip = path.join(state.base(), "seed.zip");
    fs.writeFileSync(zip, "PK");
    await expect(
      manager.createWorkspace({ allow_host_compat: true, seed_path: zip }),
    ).rejects.toThrow(".tar, .tar.gz or .tgz");
    await expect(
      manager.createWorkspace({
        allow_host_compat: true,
        seed_path: path.join(state.base(), "missing"),
      }),
    ).rejects.toThrow("seed_path does not exist");
  });

  it("works from a state directory too deep for a Unix socket path", async () => {
    const deep = path.join(state.base(), "d".repeat(60), "e".repeat(60), "state");
    const manager = state.manager({ baseDir: deep });
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    expect((await manager.execWorkspace(workspace_id, { command: "echo deep" })).stdout).toBe(
      "deep\n",
    );
    await manager.deleteWorkspace(workspace_id);
  });

  it("rehydrates across managers", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({
      environment: "debian:12-base",
      allow_host_compat: true,
    });
    const other = state.manager();
    const executed = await other.execWorkspace(workspace_id, { command: "printf 'ok\\n'" });
    expect(executed.exit_code).toBe(0);
    expect(executed.stdout).toBe("ok\n");
    expect((await other.logsWorkspace(workspace_id)).count).toBe(1);
  });

  it("requires the started state", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    editJson(
      path.join(state.stateDir(), "workspaces", workspace_id, "workspace.json"),
      (record) => {
        record.state = "stopped";
      },
    );
    await expect(manager.execWorkspace(workspace_id, { command: "true" })).rejects.toThrow(
      "must be in 'started' state",
    );
  });

  it("fails closed without the host_compat opt-in and leaves nothing behind", async () => {
    const manager = state.manager();
    await expect(manager.createWorkspace({})).rejects.toThrow("guest boot is unavailable");
    expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([]);
  });

  it("marks a workspace whose agent died as stopped with a last_error", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const pid = agentPid(workspace_id);
    process.kill(-pid, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const status = await manager.statusWorkspace(workspace_id);
    expect(status.state).toBe("stopped");
    expect(String(readRecord(workspace_id).last_error)).toContain("backing guest process");
    await expect(manager.execWorkspace(workspace_id, { command: "true" })).rejects.toThrow(
      "must be in 'started' state",
    );
  });

  it("detects a recycled pid: a live process that is not our agent counts as dead", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const pid = agentPid(workspace_id);
    editJson(
      path.join(state.stateDir(), "workspaces", workspace_id, "workspace.json"),
      (record) => {
        (record.runtime as { pid: number }).pid = process.pid; // alive, but started at another time
      },
    );
    const status = await manager.statusWorkspace(workspace_id);
    expect(status.state).toBe("stopped");
    // The real agent is not left running either: the sandbox sweep finds it by its marker.
    expect(processIsAlive(pid)).toBe(false);
  });

  it("sweeps what a SIGKILLed agent left behind, including background jobs of execs", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    // An exec still running when its agent dies: nothing is left to kill what it started.
    const running = manager
      .execWorkspace(workspace_id, {
        command: "setsid sleep 300 > /dev/null 2>&1 & echo $! > orphan.pid; sleep 300",
      })
      .catch((error: unknown) => error);
    const pidFile = path.join(
      state.stateDir(),
      "workspaces",
      workspace_id,
      "workspace",
      "orphan.pid",
    );
    while (!/^\d+\n$/.test(fs.readFileSync(pidFile, { encoding: "utf8", flag: "a+" }))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const orphan = Number(fs.readFileSync(pidFile, "utf8").trim());
    expect(processIsAlive(orphan)).toBe(true);
    process.kill(-agentPid(workspace_id), "SIGKILL");
    await running;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await manager.statusWorkspace(workspace_id)).state).toBe("stopped");
    expect(processIsAlive(orphan)).toBe(false);
  });

  it("kills what an exec left running when it returns: background jobs, job-control groups, setsid daemons", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const quiet = "> /dev/null 2>&1";
    const result = await manager.execWorkspace(workspace_id, {
      command: [
        `sleep 300 ${quiet} & echo $!`,
        `setsid sleep 301 ${quiet} & echo $!`,
        `set -m; sleep 302 ${quiet} & echo $!`,
      ].join("; "),
    });
    const leftovers = result.stdout.trim().split("\n").map(Number);
    expect(leftovers).toHaveLength(3);
    expect(leftovers.filter((pid) => processIsAlive(pid))).toEqual([]);

    // The same when the command times out, for a daemon that left its session.
    const timedOut = await manager.execWorkspace(workspace_id, {
      command: `setsid sleep 303 ${quiet} & echo $! > daemon.pid; sleep 60`,
      timeout_seconds: 1,
    });
    expect(timedOut.timed_out).toBe(true);
    const daemon = Number(
      fs.readFileSync(
        path.join(state.stateDir(), "workspaces", workspace_id, "workspace", "daemon.pid"),
        "utf8",
      ),
    );
    expect(processIsAlive(daemon)).toBe(false);
  });

  it("deletes an expired workspace on access and says so", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const pid = agentPid(workspace_id);
    // Idle since the epoch: far past its ttl_seconds (the activity file's mtime is its last use).
    idleSince(path.join(state.stateDir(), "workspaces", workspace_id), 0);
    await expect(manager.execWorkspace(workspace_id, { command: "true" })).rejects.toThrow(
      "expired and was automatically deleted",
    );
    expect(processIsAlive(pid)).toBe(false);
    expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([]);
    await expect(manager.statusWorkspace(workspace_id)).rejects.toThrow("does not exist");
  });

  it("reaps corrupt records and expired workspaces", async () => {
    const manager = state.manager();
    const workspaces = path.join(state.stateDir(), "workspaces");
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const invalid = path.join(workspaces, "invalid");
    fs.mkdirSync(invalid, { recursive: true });
    fs.writeFileSync(path.join(invalid, "workspace.json"), "[]");
    const pid = agentPid(workspace_id);
    idleSince(path.join(workspaces, workspace_id), 0);
    const reaped = await manager.reapExpired();
    expect(reaped.workspace_ids.sort()).toEqual([workspace_id, "invalid"].sort());
    expect(fs.existsSync(invalid)).toBe(false);
    expect(fs.existsSync(path.join(workspaces, workspace_id))).toBe(false);
    expect(processIsAlive(pid)).toBe(false);
  });

  it("collects expired and corrupt workspaces when a new one is created", async () => {
    const manager = state.manager();
    const workspaces = path.join(state.stateDir(), "workspaces");
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    idleSince(path.join(workspaces, workspace_id), 0);
    fs.mkdirSync(path.join(workspaces, "foreign"));
    fs.writeFileSync(
      path.join(workspaces, "foreign", "workspace.json"),
      '{"kind":"something else"}',
    );
    const fresh = await manager.createWorkspace({ allow_host_compat: true });
    expect(listDirs(workspaces)).toEqual([fresh.workspace_id]);
  });
});

describe("workspace sync, diff and export", () => {
  it("pushes a directory into a started workspace", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seedDir(),
    });
    const update = writeTree(path.join(state.base(), "update"), { "more.txt": "more\n" });
    const synced = await manager.pushWorkspaceSync(workspace_id, {
      source_path: update,
      dest: "subdir",
    });
    expect(synced.workspace_sync.mode).toBe("directory");
    expect(synced.workspace_sync.destination).toBe("/workspace/subdir");
    const executed = await manager.execWorkspace(workspace_id, { command: "cat subdir/more.txt" });
    expect(executed.stdout).toBe("more\n");
    const status = await manager.statusWorkspace(workspace_id);
    expect(status.command_count).toBe(1);
    expect(status.workspace_seed.mode).toBe("directory");
  });

  it("requires a started workspace for sync", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seedDir(),
    });
    editJson(
      path.join(state.stateDir(), "workspaces", workspace_id, "workspace.json"),
      (record) => {
        record.state = "stopped";
      },
    );
    const update = writeTree(path.join(state.base(), "update"), { "more.txt": "more\n" });
    await expect(manager.pushWorkspaceSync(workspace_id, { source_path: update })).rejects.toThrow(
      "must be in 'started' state before workspace_sync_push",
    );
  });

  it("refuses a destination outside /workspace", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    await expect(
      manager.pushWorkspaceSync(workspace_id, { source_path: seedDir(), dest: "../escape" }),
    ).rejects.toThrow("workspace destination must stay inside /workspace");
    await expect(
      manager.pushWorkspaceSync(workspace_id, { source_path: seedDir(), dest: "/etc" }),
    ).rejects.toThrow("workspace destination must stay inside /workspace");
  });

  it("diffs against the baseline and exports a file", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seedDir(),
    });
    const update = writeTree(path.join(state.base(), "update"), {
      "note.txt": "hello from sync\n",
    });
    await manager.pushWorkspaceSync(workspace_id, { source_path: update });
    const diff = await manager.diffWorkspace(workspace_id);
    expect(diff.workspace_id).toBe(workspace_id);
    expect(diff.changed).toBe(true);
    expect(diff.summary.modified).toBe(1);
    expect(diff.summary.text_patched).toBe(1);
    expect(diff.patch).toContain("-hello\n");
    expect(diff.patch).toContain("+hello from sync\n");
    const output = path.join(state.base(), "exported-note.txt");
    const exported = await manager.exportWorkspace(workspace_id, {
      path: "note.txt",
      output_path: output,
    });
    expect(exported.workspace_id).toBe(workspace_id);
    expect(exported.artifact_type).toBe("file");
    expect(fs.readFileSync(output, "utf8")).toBe("hello from sync\n");
    expect((await manager.statusWorkspace(workspace_id)).command_count).toBe(0);
    expect((await manager.logsWorkspace(workspace_id)).count).toBe(0);
  });

  it("exports a directory to the exact output path, keeping symlinks and empty directories", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seedDir({ "src/note.txt": "hello\n" }),
    });
    await manager.execWorkspace(workspace_id, {
      command: "ln -s note.txt src/note-link && mkdir src/empty-dir",
    });
    const output = path.join(state.base(), "exported-src");
    const payload = await manager.exportWorkspace(workspace_id, {
      path: "src",
      output_path: output,
    });
    expect(payload.artifact_type).toBe("directory");
    expect(fs.readFileSync(path.join(output, "note.txt"), "utf8")).toBe("hello\n");
    expect(fs.existsSync(path.join(output, "src"))).toBe(false);
    expect(fs.readlinkSync(path.join(output, "note-link"))).toBe("note.txt");
    expect(fs.statSync(path.join(output, "empty-dir")).isDirectory()).toBe(true);
  });

  it("refuses to export a missing path or onto an existing output", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seedDir(),
    });
    await expect(
      manager.exportWorkspace(workspace_id, {
        path: "missing.txt",
        output_path: path.join(state.base(), "out"),
      }),
    ).rejects.toThrow("workspace path does not exist");
    const existing = path.join(state.base(), "note.txt");
    fs.writeFileSync(existing, "already here\n");
    await expect(
      manager.exportWorkspace(workspace_id, { path: "note.txt", output_path: existing }),
    ).rejects.toThrow("output_path already exists");
    expect(fs.readFileSync(existing, "utf8")).toBe("already here\n");
    await expect(
      manager.exportWorkspace(workspace_id, {
        path: "../../etc/passwd",
        output_path: path.join(state.base(), "x"),
      }),
    ).rejects.toThrow("must stay inside /workspace");
  });

  it("requires the creation baseline for diff", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    fs.unlinkSync(
      path.join(state.stateDir(), "workspaces", workspace_id, "baseline", "workspace.tar"),
    );
    await expect(manager.diffWorkspace(workspace_id)).rejects.toThrow(
      /requires? a baseline snapshot/,
    );
  });

  it("reports binary, symlink, empty-directory and type changes through the agent", async () => {
    const manager = state.manager();
    const seed = seedDir({ "modified.txt": "before\n", "deleted.txt": "gone\n" });
    fs.mkdirSync(path.join(seed, "swap"));
    fs.mkdirSync(path.join(seed, "removed-empty"));
    fs.writeFileSync(path.join(seed, "binary.bin"), Buffer.from("\0before"));
    fs.symlinkSync("link-target-old.txt", path.join(seed, "link"));
    const { workspace_id } = await manager.createWorkspace({
      allow_host_compat: true,
      seed_path: seed,
    });
    await manager.execWorkspace(workspace_id, {
      command: [
        "printf 'after\\n' > modified.txt",
        "rm deleted.txt",
        "printf 'new\\n' > added.txt",
        "printf '\\0after' > binary.bin",
        "ln -sfn link-target-new.txt link",
        "rmdir swap && printf 'type changed\\n' > swap",
        "rmdir removed-empty",
        "mkdir added-empty",
      ].join(" && "),
    });
    const diff = await manager.diffWorkspace(workspace_id);
    expect(diff.summary).toEqual({
      total: 8,
      added: 2,
      modified: 3,
      deleted: 2,
      type_changed: 1,
      mode_changed: 0,
      text_patched: 3,
      non_text: 5,
    });
    const entries = Object.fromEntries(diff.entries.map((entry) => [entry.path, entry]));
    expect(entries["binary.bin"]?.text_patch).toBeNull();
    expect(entries.link?.artifact_type).toBe("symlink");
    expect(entries.swap).toMatchObject({ status: "type_changed", artifact_type: "file" });
    expect(entries["added-empty"]?.artifact_type).toBe("directory");
    expect(diff.patch).toContain("--- /dev/null\n+++ b/added.txt");
    expect(diff.patch).toContain("--- a/deleted.txt\n+++ /dev/null");
  });
});

describe("unsafe input and failures leave nothing behind", () => {
  function rawTar(
    members: Array<{ name: string; type?: string; linkname?: string; body?: string }>,
  ): Buffer {
    const blocks: Buffer[] = [];
    for (const member of members) {
      const body = Buffer.from(member.body ?? "");
      const header = Buffer.alloc(512);
      header.write(member.name, 0, 100, "utf8");
      header.write("0000644\0", 100);
      header.write("0000000\0", 108);
      header.write("0000000\0", 116);
      header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
      header.write("00000000000\0", 136);
      header.write("        ", 148);
      header.write(member.type ?? "0", 156);
      header.write(member.linkname ?? "", 157, 100, "utf8");
      header.write("ustar\0", 257);
      header.write("00", 263);
      let sum = 0;
      for (const byte of header) sum += byte;
      header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
      blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
  }

  it("refuses an archive member that escapes", async () => {
    const manager = state.manager();
    const archive = path.join(state.base(), "bad.tar");
    fs.writeFileSync(archive, rawTar([{ name: "../escape.txt", body: "bad\n" }]));
    await expect(
      manager.createWorkspace({ allow_host_compat: true, seed_path: archive }),
    ).rejects.toThrow("unsafe archive member path");
    expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([]);
    expect(fs.existsSync(path.join(state.base(), "escape.txt"))).toBe(false);
  });

  it("refuses an archive that writes through a symlink", async () => {
    const manager = state.manager();
    const archive = path.join(state.base(), "bad-symlink.tar");
    fs.writeFileSync(
      archive,
      rawTar([
        { name: "linked", type: "2", linkname: "outside" },
        { name: "linked/note.txt", body: "bad\n" },
      ]),
    );
    await expect(
      manager.createWorkspace({ allow_host_compat: true, seed_path: archive }),
    ).rejects.toThrow("traverse through a symlinked path");
    expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([]);
  });

  it("refuses a sync archive that would write through a symlink already in the workspace", async () => {
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const outside = fs.mkdtempSync(path.join(state.base(), "outside-"));
    await manager.execWorkspace(workspace_id, { command: `ln -s ${outside} escape` });
    const archive = path.join(state.base(), "sync.tar");
    fs.writeFileSync(archive, rawTar([{ name: "escape/pwned.txt", body: "bad\n" }]));
    await expect(manager.pushWorkspaceSync(workspace_id, { source_path: archive })).rejects.toThrow(
      "traverse through a symlinked path",
    );
    expect(fs.existsSync(path.join(outside, "pwned.txt"))).toBe(false);
  });

  it("refuses device nodes and absolute paths", async () => {
    const manager = state.manager();
    const device = path.join(state.base(), "device.tar");
    fs.writeFileSync(device, rawTar([{ name: "null", type: "3" }]));
    await expect(
      manager.createWorkspace({ allow_host_compat: true, seed_path: device }),
    ).rejects.toThrow("unsupported archive member type");
    const absolute = path.join(state.base(), "absolute.tar");
    fs.writeFileSync(absolute, rawTar([{ name: "/tmp/pyro-absolute.txt", body: "x" }]));
    await expect(
      manager.createWorkspace({ allow_host_compat: true, seed_path: absolute }),
    ).rejects.toThrow("unsafe archive member path");
    expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([]);
  });

  it("cleans up when seeding fails inside the sandbox", async () => {
    const manager = state.manager();
    const source = seedDir();
    await withEnv({ PYRO_AGENT_FAILPOINTS: "archive.import" }, async () => {
      await expect(
        manager.createWorkspace({ allow_host_compat: true, seed_path: source }),
      ).rejects.toThrow("injected failure");
    });
    expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([]);
  });

  it("cleans up when the sandbox fails to start", async () => {
    const manager = state.manager();
    const broken = path.join(state.base(), "broken-agent.mjs");
    fs.writeFileSync(broken, "console.error('boom: agent cannot start'); process.exit(3);\n");
    await withEnv({ PYRO_AGENT_PATH: broken }, async () => {
      await expect(manager.createWorkspace({ allow_host_compat: true })).rejects.toThrow("boom");
    });
    expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([]);
  });
});

/** Makes a workspace look idle since `epochSeconds` (its activity file's mtime). */
function idleSince(workspaceDir: string, epochSeconds: number): void {
  fs.utimesSync(path.join(workspaceDir, "activity.json"), epochSeconds, epochSeconds);
}
