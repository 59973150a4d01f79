import type { Command } from "commander";

import { addJsonOption, printError, withExample, EXIT_ERROR, type JsonOption } from "../output.js";

interface HostOptions {
  name?: string;
  profile?: string;
}

/** `pyro host …`: connect MCP clients (Claude Code, Codex, Cursor, OpenCode) to this pyro. */
export function registerHostCommands(program: Command): void {
  const host = program
    .command("host")
    .description(
      "Connect an MCP client to this pyro: print or write its configuration (absolute node and pyro paths, `mcp serve`, tool timeouts for long commands).",
    );
  withExample(host, "pyro host connect codex", "pyro host print-config claude-code");

  const print = host
    .command("print-config")
    .description(
      "Print the MCP client configuration for this pyro in the client's format: claude-code (.mcp.json), codex (config.toml table), cursor (mcp.json) or opencode (opencode.json). Notes go to stderr.",
    )
    .argument("<client>", "claude-code, codex, cursor or opencode")
    .option("--name <name>", "server name in the client's configuration (default pyro)")
    .option("--profile <profile>", "MCP tool profile to serve (default workspace-core)");
  addJsonOption(print);
  withExample(print, "pyro host print-config codex >> ~/.codex/config.toml");
  print.action(async (client: string, options: HostOptions & JsonOption) => {
    try {
      const config = await import("../../core/host-config.js");
      const checked = config.checkClient(client, config.PRINT_CLIENTS);
      const launch = await launchFor(options);
      const text = config.renderConfig(checked, launch);
      const notes = config.clientNotes(checked, launch);
      if (options.json) {
        const summary = {
          client: checked,
          ...launch,
          default_config_path: config.defaultConfigPath(checked),
          config: text,
          notes,
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      process.stdout.write(text);
      for (const note of notes) process.stderr.write(`pyro: ${note}\n`);
    } catch (error) {
      printError(error, options.json === true);
      process.exitCode = EXIT_ERROR;
    }
  });

  const connect = host
    .command("connect")
    .description(
      "Add this pyro to an MCP client's configuration file, keeping its other servers: claude-code (./.mcp.json, project scope), codex (~/.codex/config.toml) or cursor (~/.cursor/mcp.json). The previous file is kept as FILE.bak-TIME; the new one is written atomically.",
    )
    .argument("<client>", "claude-code, codex or cursor")
    .option("--config-path <file>", "the configuration file to write (default: the client's)")
    .option("--name <name>", "server name in the client's configuration (default pyro)")
    .option("--profile <profile>", "MCP tool profile to serve (default workspace-core)");
  addJsonOption(connect);
  withExample(
    connect,
    "pyro host connect claude-code",
    "pyro host connect cursor --profile workspace-full",
  );
  connect.action(
    async (client: string, options: HostOptions & JsonOption & { configPath?: string }) => {
      try {
        const config = await import("../../core/host-config.js");
        const checked = config.checkClient(client, config.CONNECT_CLIENTS);
        const launch = await launchFor(options);
        const target = options.configPath ?? config.defaultConfigPath(checked);
        const result = await config.connectClient(checked, launch, target);
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ client: checked, ...result, ...launch }, null, 2)}\n`,
          );
          return;
        }
        process.stdout.write(
          `${result.replaced ? "updated" : "added"} MCP server '${launch.name}' in ${result.config_path}` +
            (result.backup_path ? ` (previous file kept as ${result.backup_path})` : "") +
            "\n",
        );
        for (const note of config.clientNotes(checked, launch))
          process.stderr.write(`pyro: ${note}\n`);
      } catch (error) {
        printError(error, options.json === true);
        process.exitCode = EXIT_ERROR;
      }
    },
  );
}

/** The server's launch line, with the name and profile checked. */
async function launchFor(options: HostOptions) {
  const [{ checkServerName, serverLaunch }, { checkProfile }] = await Promise.all([
    import("../../core/host-config.js"),
    import("../../mcp/profiles.js"),
  ]);
  const name = checkServerName(options.name ?? "pyro");
  const serveArgs =
    options.profile === undefined ? [] : ["--profile", checkProfile(options.profile)];
  return serverLaunch(name, serveArgs);
}
