import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

import { Header } from "tar";
import { describe, expect, it } from "vitest";

import { MAX_LOGGED_TEXT_BYTES } from "../src/core/command-log.js";
import { PyroError } from "../src/errors.js";
import { editJson, listDirs, useTempState, withEnv, writeTree } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();

const MIB = 1024 * 1024;

function logFile(id: string): string {
  return path.join(state.stateDir(), "workspaces", id, "logs", "commands.jsonl");
}

function logBytes(id: string): number {
  return [logFile(id), `${logFile(id)}.1`]
    .map((file) => (fs.existsSync(file) ? fs.statSync(file).size : 0))
    .reduce((a, b) => a + b, 0);
}

async function workspace() {
  const manager = state.manager();
  const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
  return { manager, workspace_id };
}

/** `bytes` of 'a' on stdout. */
function output(bytes: number): string {
  return `head -c ${bytes} /dev/zero | tr '\\0' a`;
}

async function rejection(promise: Promise<unknown>): Promise<PyroError> {
  const error: unknown = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PyroError);
  return error as PyroError;
}

/** One tar block: a header for a regular file, as GNU tar or an attacker would write it. */
function fileHeader(name: string, size: number): Buffer {
  const header = new Header({
    path: name,
    mode: 0o644,
    size,
    mtime: new Date(0),
    type: "File",
    uid: 0,
    gid: 0,
  });
  header.encode();
  return Buffer.from(header.block ?? Buffer.alloc(0));
}

/** A gzip'd tar whose one file expands to `size` zero bytes: tiny compressed, big expanded. */
function gzipBomb(file: string, size: number): string {
  const padding = (512 - (size % 512)) % 512;
  const tar = Buffer.concat([
    fileHeader("bomb.bin", size),
    Buffer.alloc(size + padding),
    Buffer.alloc(1024),
  ]);
  fs.writeFileSync(file, gzipSync(tar, { level: 9 }));
  return file;
}

describe("command log bounds", () => {
  it("keeps 51 execs of 1 MB output in a bounded, readable log with truncation notes", async () => {
    const { manager, workspace_id } = await workspace();
    // A few at a time: the appends still serialise under the workspace lock.
    for (let batch = 0; batch < 51; batch += 4) {
      const results = await Promise.all(
        Array.from({ length: Math.min(4, 51 - batch) }, () =>
          manager.execWorkspace(workspace_id, { command: output(MIB) }),
        ),
      );
      // The caller still gets the whole output; only the log keeps less.
      for (const result of results) expect(result.stdout.length).toBe(MIB);
    }
    expect(logBytes(workspace_id)).toBeLessThan(51 * 2 * MAX_LOGGED_TEXT_BYTES);
    const logs = await manager.logsWorkspace(workspace_id);
    expect(logs.count).toBe(51);
    expect(logs.dropped_count).toBe(0);
    expect(logs.skipped_corrupt_lines).toBe(0);
    expect(logs.entries.map((entry) => entry.sequence)).toEqual(
      Array.from({ length: 51 }, (_, index) => index + 1),
    );
    for (const entry of logs.entries) {
      expect(entry.stdout.length).toBe(MAX_LOGGED_TEXT_BYTES);
      expect(entry.stdout_truncated).toBe(true);
      expect(entry.stderr_truncated).toBe(false);
    }
  }, 120_000);

  it("rotates past the log quota, keeping sequence numbers and reporting the dropped entries", async () => {
    const { manager, workspace_id } = await workspace();
    await withEnv({ PYRO_MAX_COMMAND_LOG_BYTES: String(MIB) }, async () => {
      for (let i = 0; i < 30; i += 1) {
        await manager.execWorkspace(workspace_id, { command: output(100 * 1024) });
      }
      expect(logBytes(workspace_id)).toBeLessThanOrEqual(MIB);
      const logs = await manager.logsWorkspace(workspace_id);
      expect(logs.dropped_count).toBeGreaterThan(0);
      expect(logs.count + logs.dropped_count).toBe(30);
      const first = logs.dropped_count + 1;
      expect(logs.entries.map((entry) => entry.sequence)).toEqual(
        Array.from({ length: logs.count }, (_, index) => first + index),
      );
      const tail = await manager.logsWorkspace(workspace_id, { tail: 1 });
      expect(tail.entries[0]?.sequence).toBe(30);
    });
  }, 60_000);

  it("reads a log an older pyro let grow past the quota with bounded memory, then rotates it", async () => {
    const { manager, workspace_id } = await workspace();
    const big = "b".repeat(MIB);
    const legacy = Array.from({ length: 12 }, (_, index) =>
      JSON.stringify({
        sequence: index + 1,
        command: "make",
        cwd: "/workspace",
        exit_code: 0,
        stdout: big,
        stderr: "",
        duration_ms: 1,
        started_at: 1,
        finished_at: 2,
        timed_out: false,
      }),
    );
    fs.mkdirSync(path.dirname(logFile(workspace_id)), { recursive: true });
    fs.writeFileSync(logFile(workspace_id), `${legacy.join("\n")}\n`);
    editJson(
      path.join(state.stateDir(), "workspaces", workspace_id, "workspace.json"),
      (record) => {
        record.command_count = 12;
      },
    );
    await withEnv({ PYRO_MAX_COMMAND_LOG_BYTES: String(4 * MIB) }, async () => {
      const logs = await manager.logsWorkspace(workspace_id);
      // Only the last 2 MiB (half the quota) of the file are read.
      expect(logs.entries.map((entry) => entry.sequence)).toEqual([12]);
      expect(logs.dropped_count).toBe(11);
      expect(logs.entries[0]?.stdout.length).toBe(MAX_LOGGED_TEXT_BYTES);
      expect(logs.entries[0]?.stdout_truncated).toBe(true);
      await manager.execWorkspace(workspace_id, { command: "echo next" });
      expect(fs.statSync(logFile(workspace_id)).size).toBeLessThan(4096);
      const after = await manager.logsWorkspace(workspace_id);
      expect(after.entries.map((entry) => entry.sequence)).toEqual([12, 13]);
    });
  });

  it("pages with tail and an after_sequence cursor, and validates both", async () => {
    const { manager, workspace_id } = await workspace();
    for (let i = 1; i <= 12; i += 1) {
      await manager.execWorkspace(workspace_id, { command: `echo ${i}` });
    }
    const tail = await manager.logsWorkspace(workspace_id, { tail: 3 });
    expect(tail.entries.map((entry) => entry.stdout)).toEqual(["10\n", "11\n", "12\n"]);
    expect(tail).toMatchObject({ count: 3, total_count: 12, has_more: false });

    const seen: number[] = [];
    let cursor = 0;
    let pages = 0;
    for (;;) {
      const page = await manager.logsWorkspace(workspace_id, { after_sequence: cursor, limit: 5 });
      pages += 1;
      seen.push(...page.entries.map((entry) => entry.sequence));
      cursor = page.next_after_sequence;
      if (!page.has_more) break;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
    const after = await manager.logsWorkspace(workspace_id, { after_sequence: 12 });
    expect(after).toMatchObject({ count: 0, next_after_sequence: 12, has_more: false });

    for (const input of [{ limit: 0 }, { tail: -1 }, { limit: 100_001 }, { tail: 2, limit: 2 }]) {
      const error = await rejection(manager.logsWorkspace(workspace_id, input));
      expect(error.code).toBe("invalid_argument");
    }
    expect(
      (await rejection(manager.logsWorkspace(workspace_id, { after_sequence: -1 }))).message,
    ).toContain("after_sequence");
  });

  it("survives a torn append: the torn line is skipped and counted, the entries after it kept", async () => {
    const { manager, workspace_id } = await workspace();
    await manager.execWorkspace(workspace_id, { command: "echo one" });
    await manager.execWorkspace(workspace_id, { command: "echo two" });
    // A crash mid-append: part of an entry, no newline, and the record never updated.
    fs.appendFileSync(logFile(workspace_id), '{"sequence":3,"command":"echo th');
    const torn = await manager.logsWorkspace(workspace_id);
    expect(torn).toMatchObject({ count: 2, skipped_corrupt_lines: 1 });

    await manager.execWorkspace(workspace_id, { command: "echo three" });
    await manager.execWorkspace(workspace_id, { command: "echo four" });
    fs.appendFileSync(logFile(workspace_id), "not json at all\n");
    await manager.execWorkspace(workspace_id, { command: "echo five" });
    const logs = await manager.logsWorkspace(workspace_id);
    expect(logs.entries.map((entry) => entry.stdout)).toEqual([
      "one\n",
      "two\n",
      "three\n",
      "four\n",
      "five\n",
    ]);
    expect(logs.entries.map((entry) => entry.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(logs.skipped_corrupt_lines).toBe(2);
  });

  it("pyro workspace logs --tail prints the last entries", async () => {
    const { manager, workspace_id } = await workspace();
    for (const word of ["alpha", "beta", "gamma"]) {
      await manager.execWorkspace(workspace_id, { command: `echo ${word}` });
    }
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cliPath, "workspace", "logs", workspace_id, ...args], {
        encoding: "utf8",
        env: pyroEnv(state.stateDir()),
      });
    const json = run("--tail", "2", "--json");
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      count: number;
      entries: { sequence: number; stdout: string }[];
    };
    expect(parsed.count).toBe(2);
    expect(parsed.entries.map((entry) => entry.stdout)).toEqual(["beta\n", "gamma\n"]);
    const human = run("--tail", "1");
    expect(human.status).toBe(0);
    expect(human.stdout.trim()).toBe("#3 exit 0  echo gamma");
    const paged = JSON.parse(run("--after-sequence", "1", "--limit", "1", "--json").stdout) as {
      entries: { sequence: number }[];
      has_more: boolean;
    };
    expect(paged.entries.map((entry) => entry.sequence)).toEqual([2]);
    expect(paged.has_more).toBe(true);
    const bad = run("--tail", "x");
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("tail");
  });
});

describe("quotas", () => {
  it("refuses a gzip bomb seed and push, naming the limit, with nothing left behind", async () => {
    const bomb = gzipBomb(path.join(state.base(), "bomb.tar.gz"), 32 * MIB);
    expect(fs.statSync(bomb).size).toBeLessThan(MIB);
    const manager = state.manager();
    await withEnv({ PYRO_MAX_ARCHIVE_BYTES: String(8 * MIB) }, async () => {
      const refused = await rejection(
        manager.createWorkspace({ allow_host_compat: true, seed_path: bomb }),
      );
      expect(refused.code).toBe("limit_exceeded");
      expect(refused.message).toContain("PYRO_MAX_ARCHIVE_BYTES");
      expect(refused.message).toContain(String(8 * MIB));
      expect(refused.message).toContain("seed_path");
      expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([]);

      const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
      const pushed = await rejection(
        manager.pushWorkspaceSync(workspace_id, { source_path: bomb }),
      );
      expect(pushed.code).toBe("limit_exceeded");
      expect(pushed.message).toContain("source_path");
      const listing = await manager.execWorkspace(workspace_id, { command: "ls -A" });
      expect(listing.stdout).toBe("");
      const staging = path.join(state.stateDir(), "workspaces", workspace_id, "staging");
      expect(listDirs(staging)).toEqual([]);

      // A directory seed over the quota is refused the same way.
      const big = path.join(state.base(), "big");
      writeTree(big, { "a.bin": "x".repeat(9 * MIB) });
      const dirSeed = await rejection(
        manager.createWorkspace({ allow_host_compat: true, seed_path: big }),
      );
      expect(dirSeed.code).toBe("limit_exceeded");
      expect(dirSeed.details).toMatchObject({
        field: "seed_path",
        limit: "PYRO_MAX_ARCHIVE_BYTES",
      });
      const dirPush = await rejection(
        manager.pushWorkspaceSync(workspace_id, { source_path: big }),
      );
      expect(dirPush.code).toBe("limit_exceeded");
      expect(listDirs(staging)).toEqual([]);
      expect(listDirs(path.join(state.stateDir(), "workspaces"))).toEqual([workspace_id]);
    });

    // The default (2 GiB) holds too: a header claiming 3 GiB is refused at once.
    const huge = path.join(state.base(), "huge.tar.gz");
    fs.writeFileSync(huge, gzipSync(Buffer.concat([fileHeader("big", 3 * 1024 * MIB)])));
    const refused = await rejection(
      manager.createWorkspace({ allow_host_compat: true, seed_path: huge }),
    );
    expect(refused.code).toBe("limit_exceeded");
    expect(refused.message).toContain("2147483648 bytes (2 GiB)");

    const invalid = await withEnv({ PYRO_MAX_ARCHIVE_BYTES: "lots" }, () =>
      rejection(manager.createWorkspace({ allow_host_compat: true, seed_path: bomb })),
    );
    expect(invalid.code).toBe("invalid_argument");
    expect(invalid.message).toContain("PYRO_MAX_ARCHIVE_BYTES");
  }, 60_000);

  it("measures a directory source of many files against both quotas before packing it", async () => {
    // 300 files in 3 directories: the sizes add up across batches of the measuring walk.
    const tree: Record<string, string> = {};
    for (let i = 0; i < 300; i += 1) tree[`d${i % 3}/f${i}.bin`] = "x".repeat(32 * 1024);
    const source = path.join(state.base(), "many");
    writeTree(source, tree);
    const manager = state.manager();
    const { workspace_id } = await manager.createWorkspace({ allow_host_compat: true });
    const staging = path.join(state.stateDir(), "workspaces", workspace_id, "staging");
    const refusedBytes = await withEnv({ PYRO_MAX_ARCHIVE_BYTES: String(9 * MIB) }, () =>
      rejection(manager.pushWorkspaceSync(workspace_id, { source_path: source })),
    );
    expect(refusedBytes.details).toMatchObject({ limit: "PYRO_MAX_ARCHIVE_BYTES" });
    const refusedEntries = await withEnv({ PYRO_MAX_ARCHIVE_ENTRIES: "250" }, () =>
      rejection(manager.pushWorkspaceSync(workspace_id, { source_path: source })),
    );
    expect(refusedEntries.details).toMatchObject({ limit: "PYRO_MAX_ARCHIVE_ENTRIES" });
    expect(listDirs(staging)).toEqual([]);
    // Just within both (9.4 MiB of files, 304 members): pushed whole.
    await withEnv(
      { PYRO_MAX_ARCHIVE_BYTES: String(10 * MIB), PYRO_MAX_ARCHIVE_ENTRIES: "304" },
      () => manager.pushWorkspaceSync(workspace_id, { source_path: source, dest: "/workspace/m" }),
    );
    const count = await manager.execWorkspace(workspace_id, { command: "find m -type f | wc -l" });
    expect(count.stdout.trim()).toBe("300");
  });

  it("limits the number of snapshots per workspace", async () => {
    const { manager, workspace_id } = await workspace();
    await withEnv({ PYRO_MAX_SNAPSHOTS: "3" }, async () => {
      for (const name of ["s1", "s2", "s3"]) await manager.createSnapshot(workspace_id, name);
      const refused = await rejection(manager.createSnapshot(workspace_id, "s4"));
      expect(refused.code).toBe("limit_exceeded");
      expect(refused.message).toContain("PYRO_MAX_SNAPSHOTS");
      expect(refused.message).toContain("limit is 3");
      expect(refused.message).toContain("snapshot delete");
      expect((await manager.listSnapshots(workspace_id)).count).toBe(4); // baseline + 3
      await manager.deleteSnapshot(workspace_id, "s1");
      await manager.createSnapshot(workspace_id, "s4");
    });
  });

  it("limits the disk used by a workspace's snapshots, stopping an oversized one mid-stream", async () => {
    const { manager, workspace_id } = await workspace();
    await manager.execWorkspace(workspace_id, { command: "head -c 300000 /dev/urandom > blob" });
    const snapshots = path.join(state.stateDir(), "workspaces", workspace_id, "snapshots");
    await withEnv({ PYRO_MAX_SNAPSHOT_BYTES: "500000" }, async () => {
      await manager.createSnapshot(workspace_id, "first");
      const refused = await rejection(manager.createSnapshot(workspace_id, "second"));
      expect(refused.code).toBe("limit_exceeded");
      expect(refused.message).toContain("PYRO_MAX_SNAPSHOT_BYTES");
      expect(refused.message).toContain("500000");
      expect(fs.readdirSync(snapshots).sort()).toEqual(["first.json", "first.tar"]);
    });
    await withEnv({ PYRO_MAX_SNAPSHOT_BYTES: "100000" }, async () => {
      await manager.deleteSnapshot(workspace_id, "first");
      const refused = await rejection(manager.createSnapshot(workspace_id, "whole"));
      expect(refused.code).toBe("limit_exceeded");
      expect(fs.readdirSync(snapshots)).toEqual([]);
    });
  });
});
