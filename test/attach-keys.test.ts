// The parts of `pyro workspace attach` / `pyro run -it` that need no terminal: the detach-key
// parser and matcher, and the refusal of -it (and attach) when stdin is not a TTY, which
// must come before anything is created. Sessions at a real terminal: attach-tmux.test.ts.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import {
  DEFAULT_DETACH_KEYS,
  DetachKeyMatcher,
  describeDetachKeys,
  parseDetachKeys,
} from "../src/cli/attach-keys.js";

import { useTempState } from "./helpers.js";

const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const state = useTempState();

function bytes(text: string): number[] {
  return [...Buffer.from(text, "latin1")];
}

describe("detach keys", () => {
  it("parses Docker's notation", () => {
    expect([...(parseDetachKeys(DEFAULT_DETACH_KEYS) ?? [])]).toEqual([16, 17]);
    expect([...(parseDetachKeys("ctrl-]") ?? [])]).toEqual([29]);
    expect([...(parseDetachKeys("ctrl-@,ctrl-[,ctrl-\\,ctrl-^,ctrl-_") ?? [])]).toEqual([
      0, 27, 28, 30, 31,
    ]);
    expect([...(parseDetachKeys("CTRL-A,x,~") ?? [])]).toEqual([1, 120, 126]);
    expect(parseDetachKeys("")).toBeNull();
    expect(describeDetachKeys(Uint8Array.from([16, 17]))).toBe("Ctrl-P Ctrl-Q");
    expect(describeDetachKeys(Uint8Array.from([29, 120]))).toBe("Ctrl-] x");
  });

  it("refuses what it cannot read, naming the flag, the rule and the key", () => {
    for (const [spec, key] of [
      ["ctrl-", "ctrl-"],
      ["ctrl-1", "ctrl-1"],
      ["ctrl-pp", "ctrl-pp"],
      ["ctrl-p,", ""],
      ["abc", "abc"],
      ["ctrl-p,é", "é"],
      ["\t", "\t"],
    ]) {
      let thrown: unknown;
      try {
        parseDetachKeys(spec as string);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, spec).toMatchObject({
        code: "invalid_argument",
        message: expect.stringContaining(
          `each key of --detach-keys must be ctrl-<letter or one of @[\\]^_> or one printable character`,
        ),
        details: { field: "--detach-keys", value: spec, key },
      });
      expect((thrown as Error).message).toContain(`got '${key}' in '${spec}'`);
    }
  });

  it("holds back a possible start of the sequence and releases it when the next key differs", () => {
    const matcher = new DetachKeyMatcher(parseDetachKeys("ctrl-p,ctrl-q"));
    const feed = (text: string) => {
      const { forward, detach } = matcher.feed(Buffer.from(text, "latin1"));
      return { forward: [...forward], detach };
    };
    expect(feed("ls\r")).toEqual({ forward: bytes("ls\r"), detach: false });
    // Ctrl-P alone waits for the next key...
    expect(feed("\x10")).toEqual({ forward: [], detach: false });
    // ...which is not Ctrl-Q: both go through, in order (bash's history-previous works).
    expect(feed("a")).toEqual({ forward: [16, 97], detach: false });
    // Ctrl-P Ctrl-P: the first is released, the second held.
    expect(feed("\x10\x10")).toEqual({ forward: [16], detach: false });
    expect(feed("\x11")).toEqual({ forward: [], detach: true });
    // In one chunk, with input before it: the input goes through, the keys do not.
    expect(feed("echo\x10\x11")).toEqual({ forward: bytes("echo"), detach: true });
    // Ctrl-C is ordinary input for the remote terminal.
    expect(feed("\x03")).toEqual({ forward: [3], detach: false });
  });

  it("detaches on a single key at once, and never when turned off", () => {
    const single = new DetachKeyMatcher(parseDetachKeys("ctrl-]"));
    expect(single.feed(Buffer.from("ab\x1dcd", "latin1"))).toEqual({
      forward: Buffer.from("ab"),
      detach: true,
    });
    const off = new DetachKeyMatcher(parseDetachKeys(""));
    expect(off.feed(Buffer.from("\x10\x11\x1d", "latin1"))).toEqual({
      forward: Buffer.from("\x10\x11\x1d", "latin1"),
      detach: false,
    });
  });
});

describe("a terminal session without a terminal", () => {
  function pyro(...args: string[]) {
    return spawnSync(process.execPath, [cli, ...args], {
      encoding: "utf8",
      input: "echo hi\n",
      env: { ...process.env, PYRO_STATE_DIR: state.stateDir(), PYRO_BACKEND: "host" },
    });
  }

  function sandboxDirs(kind: "vms" | "workspaces"): string[] {
    const dir = path.join(state.stateDir(), kind);
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  }

  it("run -it refuses piped stdin before creating a sandbox", () => {
    const result = pyro("run", "debian:12", "--allow-host-compat", "-it", "--", "bash");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "pyro: error [invalid_argument]: pyro run -it needs an interactive terminal, but stdin is not a TTY",
    );
    expect(result.stdout).toBe("");
    expect(sandboxDirs("vms")).toEqual([]);
  });

  it("run refuses -i or -t alone, -it with --json or --timeout-seconds, and bad detach keys", () => {
    for (const [flags, message] of [
      [["-i"], "-i and -t go together"],
      [["-t"], "-i and -t go together"],
      [["-it", "--json"], "--json cannot be combined with -it"],
      [["-it", "--timeout-seconds", "5"], "--timeout-seconds does not apply to -it"],
      [["-it", "--detach-keys", "ctrl-1"], "each key of --detach-keys must be"],
    ] as const) {
      const result = pyro("run", "debian:12", "--allow-host-compat", ...flags, "--", "bash");
      expect(result.status, flags.join(" ")).toBe(1);
      expect(result.stderr).toContain(`[invalid_argument]: ${message}`);
    }
    expect(sandboxDirs("vms")).toEqual([]);
  });

  it("workspace attach refuses piped stdin", async () => {
    const manager = state.manager({ backend: "host" });
    const { workspace_id: id } = await manager.createWorkspace({ allow_host_compat: true });
    const result = pyro("workspace", "attach", id);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "pyro workspace attach needs an interactive terminal, but stdin is not a TTY",
    );
    expect(result.stdout).toBe("");
  });
});
