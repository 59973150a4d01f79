// `pyro host print-config|connect`: MCP client configuration for this pyro, in each client's
// format, merged into the client's file without losing what else it holds. Every run gets a
// temporary HOME and CODEX_HOME: the real home is never touched.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it } from "vitest";

import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();

function pyro(args: string[], cwd?: string) {
  const home = path.join(state.base(), "home");
  fs.mkdirSync(home, { recursive: true });
  return spawnSync(process.execPath, [cliPath, "host", ...args], {
    encoding: "utf8",
    cwd: cwd ?? home,
    env: { ...pyroEnv(state.stateDir()), HOME: home, CODEX_HOME: path.join(home, ".codex") },
  });
}

const entry = fs.realpathSync(cliPath);

describe("pyro host print-config", () => {
  it("prints each client's documented format with absolute node and pyro paths", () => {
    const claude = pyro(["print-config", "claude-code"]);
    expect(claude.status, claude.stderr).toBe(0);
    expect(JSON.parse(claude.stdout)).toEqual({
      mcpServers: {
        pyro: { type: "stdio", command: process.execPath, args: [entry, "mcp", "serve"], env: {} },
      },
    });
    expect(claude.stderr).toContain("MCP_TOOL_TIMEOUT=300000");
    expect(claude.stderr).toContain(
      `claude mcp add pyro -- ${process.execPath} ${entry} mcp serve`,
    );

    const cursor = pyro(["print-config", "cursor", "--name", "sandbox", "--profile", "vm-run"]);
    expect(JSON.parse(cursor.stdout)).toEqual({
      mcpServers: {
        sandbox: {
          command: process.execPath,
          args: [entry, "mcp", "serve", "--profile", "vm-run"],
          env: {},
        },
      },
    });

    const codex = pyro(["print-config", "codex"]);
    expect(codex.stdout).toBe(
      [
        "[mcp_servers.pyro]",
        `command = ${JSON.stringify(process.execPath)}`,
        `args = [${JSON.stringify(entry)}, "mcp", "serve"]`,
        "startup_timeout_sec = 30",
        "tool_timeout_sec = 300",
        "",
      ].join("\n"),
    );

    const json = JSON.parse(pyro(["print-config", "codex", "--json"]).stdout) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({
      client: "codex",
      name: "pyro",
      command: process.execPath,
      config: codex.stdout,
      default_config_path: path.join(state.base(), "home", ".codex", "config.toml"),
    });

    const opencode = pyro(["print-config", "opencode"]);
    expect(JSON.parse(opencode.stdout)).toEqual({
      $schema: "https://opencode.ai/config.json",
      mcp: {
        pyro: { type: "local", command: [process.execPath, entry, "mcp", "serve"], enabled: true },
      },
    });
  });

  it("prints a configuration an MCP client can start as it is", async () => {
    const printed = JSON.parse(pyro(["print-config", "cursor"]).stdout) as {
      mcpServers: { pyro: { command: string; args: string[] } };
    };
    const { command, args } = printed.mcpServers.pyro;
    const client = new Client({ name: "host-test", version: "0" });
    await client.connect(
      new StdioClientTransport({ command, args, env: pyroEnv(state.stateDir()), stderr: "pipe" }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain("workspace_exec");
    } finally {
      await client.close();
    }
  });

  it("refuses an unknown client, a bad name and a bad profile", () => {
    const client = pyro(["print-config", "vim"]);
    expect(client.status).toBe(1);
    expect(client.stderr).toContain(
      "error [invalid_argument]: client must be one of claude-code, codex, cursor, opencode; got 'vim'",
    );
    const connectOpencode = pyro(["connect", "opencode"]);
    expect(connectOpencode.stderr).toContain(
      "client must be one of claude-code, codex, cursor; got 'opencode'",
    );
    expect(pyro(["print-config", "codex", "--name", "a b]"]).stderr).toContain(
      "--name must match ^[A-Za-z0-9_-]{1,64}$",
    );
    expect(pyro(["print-config", "codex", "--profile", "all"]).stderr).toContain(
      "profile must be one of vm-run, workspace-core, workspace-full",
    );
  });
});

describe("pyro host connect", () => {
  it("merges into a JSON file, keeping other servers and settings, with a backup", () => {
    const file = path.join(state.base(), "cursor", "mcp.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const before = {
      mcpServers: { other: { command: "other-server", args: ["--x"] } },
      someSetting: true,
    };
    fs.writeFileSync(file, JSON.stringify(before), { mode: 0o640 });
    const first = pyro(["connect", "cursor", "--config-path", file]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^added MCP server 'pyro' in .*mcp\.json \(previous file kept as /,
    );
    const written = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(written).toEqual({
      mcpServers: {
        other: before.mcpServers.other,
        pyro: { command: process.execPath, args: [entry, "mcp", "serve"], env: {} },
      },
      someSetting: true,
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    const backups = fs.readdirSync(path.dirname(file)).filter((name) => name.includes(".bak-"));
    expect(backups).toHaveLength(1);
    expect(
      JSON.parse(fs.readFileSync(path.join(path.dirname(file), backups[0] ?? ""), "utf8")),
    ).toEqual(before);

    const again = pyro([
      "connect",
      "cursor",
      "--config-path",
      file,
      "--profile",
      "workspace-full",
      "--json",
    ]);
    expect(JSON.parse(again.stdout)).toMatchObject({
      client: "cursor",
      replaced: true,
      name: "pyro",
    });
    const updated = JSON.parse(fs.readFileSync(file, "utf8")) as {
      mcpServers: Record<string, { args: string[] }>;
    };
    expect(Object.keys(updated.mcpServers)).toEqual(["other", "pyro"]);
    expect(updated.mcpServers.pyro?.args).toEqual([
      entry,
      "mcp",
      "serve",
      "--profile",
      "workspace-full",
    ]);
  });

  it("replaces its own Codex table (and sub-tables) and leaves every other line alone", () => {
    const file = path.join(state.base(), "codex.toml");
    const others = ['model = "o4"', "", "[mcp_servers.docs]", 'command = "docs-server"', ""];
    const old = [
      "[mcp_servers.pyro]",
      'command = "/old/node"',
      "",
      "[mcp_servers.pyro.env]",
      'A = "1"',
      "",
    ];
    const after = ["[profiles.fast]", 'model = "mini"'];
    fs.writeFileSync(file, [...others, ...old, ...after].join("\n") + "\n");
    const result = pyro(["connect", "codex", "--config-path", file]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("updated MCP server 'pyro'");
    expect(fs.readFileSync(file, "utf8")).toBe(
      [
        ...others,
        "[mcp_servers.pyro]",
        `command = ${JSON.stringify(process.execPath)}`,
        `args = [${JSON.stringify(entry)}, "mcp", "serve"]`,
        "startup_timeout_sec = 30",
        "tool_timeout_sec = 300",
        "",
        ...after,
        "",
      ].join("\n"),
    );
  });

  it("writes the clients' default files under HOME and the project, creating them", () => {
    const home = path.join(state.base(), "home");
    const project = path.join(state.base(), "project");
    fs.mkdirSync(project, { recursive: true });
    expect(pyro(["connect", "cursor"]).status).toBe(0);
    expect(fs.existsSync(path.join(home, ".cursor", "mcp.json"))).toBe(true);
    expect(pyro(["connect", "codex"]).status).toBe(0);
    expect(fs.readFileSync(path.join(home, ".codex", "config.toml"), "utf8")).toContain(
      "[mcp_servers.pyro]\n",
    );
    expect(pyro(["connect", "claude-code"], project).status).toBe(0);
    const claude = JSON.parse(fs.readFileSync(path.join(project, ".mcp.json"), "utf8")) as {
      mcpServers: { pyro: { type: string } };
    };
    expect(claude.mcpServers.pyro.type).toBe("stdio");
    // No backup of a file that did not exist; the project file is shareable, home ones private.
    expect(fs.readdirSync(project)).toEqual([".mcp.json"]);
    expect(fs.statSync(path.join(project, ".mcp.json")).mode & 0o777).toBe(0o644);
    expect(fs.statSync(path.join(home, ".cursor", "mcp.json")).mode & 0o777).toBe(0o600);

    // A symlinked configuration (dotfiles) is updated in place, the link kept.
    const real = path.join(state.base(), "dotfiles-mcp.json");
    fs.writeFileSync(real, "{}");
    const link = path.join(state.base(), "linked-mcp.json");
    fs.symlinkSync(real, link);
    expect(pyro(["connect", "cursor", "--config-path", link]).status).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(real, "utf8")).toContain('"pyro"');
  });

  it("leaves a file it cannot parse untouched, with an error that says so", () => {
    const file = path.join(state.base(), "broken.json");
    fs.writeFileSync(file, "{ not json");
    const result = pyro(["connect", "claude-code", "--config-path", file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`error [invalid_argument]: ${file} is not valid JSON`);
    expect(result.stderr).toContain("nothing was changed");
    expect(fs.readFileSync(file, "utf8")).toBe("{ not json");
    expect(fs.readdirSync(state.base()).filter((name) => name.startsWith("broken.json."))).toEqual(
      [],
    );
    fs.writeFileSync(file, JSON.stringify({ mcpServers: [] }));
    expect(pyro(["connect", "cursor", "--config-path", file]).stderr).toContain(
      "mcpServers must be an object",
    );
  });
});
