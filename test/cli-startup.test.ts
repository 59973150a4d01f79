/**
 * The built CLI's start-up (docs/cli.md, "Start-up time"): module loading was most of a
 * read-only call's cost, about 200 files (pyro's own modules, commander, zod and all of
 * zod's 64 translations) before every command. The bundle (scripts/build-cli.mjs) loads a
 * handful. Counted with a module loader hook, not timed: the count is exact on any machine.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { Command } from "commander";
import { describe, expect, it } from "vitest";

import { commandGroups } from "../src/cli/commands/index.js";
import { buildProgram } from "../src/cli/program.js";

import { useTempState } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();

/** The files (file: URLs) a CLI call loads, in load order, and its result. */
function loadedFiles(...args: string[]) {
  const hooks = path.join(state.base(), "log-hooks.mjs");
  fs.writeFileSync(
    hooks,
    `export async function load(url, context, next) {
      if (url.startsWith("file:")) process.stderr.write("LOADED " + url + "\\n");
      return next(url, context);
    }`,
  );
  const register = path.join(state.base(), "register.mjs");
  fs.writeFileSync(
    register,
    `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  const result = spawnSync(process.execPath, ["--import", register, cliPath, ...args], {
    encoding: "utf8",
    env: pyroEnv(state.stateDir()),
  });
  const files = result.stderr
    .split("\n")
    .filter((line) => line.startsWith("LOADED "))
    .map((line) => line.slice("LOADED ".length))
    .filter((url) => url !== pathToFileURL(register).href);
  return { files, result };
}

/**
 * Whether a CLI call loaded zod: the bundle requires chunks/zod.cjs on first use
 * (scripts/build-cli.mjs), so a preloaded script looks for it in the CommonJS cache at exit.
 */
function loadsZod(...args: string[]) {
  const preload = path.join(state.base(), "zod-probe.cjs");
  fs.writeFileSync(
    preload,
    `process.on("exit", () => {
      const loaded = Object.keys(require.cache).some((file) => file.endsWith("/chunks/zod.cjs"));
      process.stderr.write("ZOD-LOADED " + loaded + "\\n");
    });`,
  );
  const result = spawnSync(process.execPath, ["--require", preload, cliPath, ...args], {
    encoding: "utf8",
    env: pyroEnv(state.stateDir()),
  });
  const loaded = /ZOD-LOADED (true|false)/.exec(result.stderr)?.[1];
  expect(loaded, result.stderr).toBeDefined();
  return { loaded: loaded === "true", result };
}

describe("the CLI's start-up", () => {
  it("loads a handful of files for a read-only call, none of them from node_modules", () => {
    const created = spawnSync(
      process.execPath,
      [cliPath, "workspace", "create", "debian:12", "--allow-host-compat", "--json"],
      { encoding: "utf8", env: pyroEnv(state.stateDir()) },
    );
    const id = (JSON.parse(created.stdout) as { workspace_id: string }).workspace_id;
    for (const args of [
      ["workspace", "status", id, "--json"],
      ["workspace", "logs", id],
      ["env", "list"],
    ]) {
      const { files, result } = loadedFiles(...args);
      expect(result.status, result.stderr).toBe(0);
      expect(files.filter((url) => url.includes("/node_modules/"))).toEqual([]);
      // About a dozen bundle chunks, not the ~200 modules of an unbundled CLI: esbuild splits
      // out every module two lazily loaded parts share, some of them a few hundred bytes.
      expect(files.length).toBeLessThanOrEqual(24);
    }
    // Module loader hooks run on their own thread and slow every call down (under load,
    // the four calls took over the default 30 s).
  }, 120_000);

  it("does not load zod for a read-only call, and loads it to word an error", () => {
    const created = spawnSync(
      process.execPath,
      [cliPath, "workspace", "create", "debian:12", "--allow-host-compat", "--json"],
      { encoding: "utf8", env: pyroEnv(state.stateDir()) },
    );
    const id = (JSON.parse(created.stdout) as { workspace_id: string }).workspace_id;
    // A command logged: `logs` reads the command log and `status` asks the agent.
    spawnSync(process.execPath, [cliPath, "workspace", "exec", id, "--", "true"], {
      env: pyroEnv(state.stateDir()),
    });
    // The input, the records and the agent's answers pass their generated JSON schemas
    // (src/shared/fast-check.ts), so no zod schema is built and zod is never loaded.
    for (const args of [
      ["workspace", "status", id, "--json"],
      ["workspace", "logs", id],
      ["workspace", "list"],
      ["env", "list"],
    ]) {
      const { loaded, result } = loadsZod(...args);
      expect(result.status, result.stderr).toBe(0);
      expect(loaded, args.join(" ")).toBe(false);
    }
    // zod is nowhere else in the bundle: no chunk could have loaded it unseen.
    const chunks = path.join(path.dirname(cliPath), "chunks");
    const withZod = fs
      .readdirSync(chunks)
      .filter((name) => name.endsWith(".js"))
      .filter((name) => fs.readFileSync(path.join(chunks, name), "utf8").includes('"$ZodType"'));
    expect(withZod).toEqual([]);
    // Input the JSON schema refuses goes to zod, which words the error as it always did.
    const refused = loadsZod("workspace", "logs", id, "--tail", "-1");
    expect(refused.result.status).toBe(1);
    expect(refused.result.stderr).toContain("tail must be between 0 and 10000, got -1");
    expect(refused.loaded).toBe(true);
  }, 120_000);

  it("loads only the entry and the command line for --version", () => {
    const { files, result } = loadedFiles("--version");
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // The entry, the command line and the few small chunks esbuild splits it into (the
    // count moves with how modules are shared; about 200 files were loaded before bundling).
    expect(files.length).toBeLessThanOrEqual(8);
  });
});

/** Runs an ES module script in a fresh node process and returns what it printed as JSON. */
function evalModule(script: string): unknown {
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as unknown;
}

describe("the catalogue's schemas, built on first use", () => {
  it("builds no schema when the catalogue loads, and only the schemas of the operation used", () => {
    const dist = (file: string) =>
      JSON.stringify(pathToFileURL(path.resolve("dist/operations", file)).href);
    // A rule's message is registered when the schema holding it is built (rules.ts), so it
    // shows which schemas exist: vcpu_count's range belongs to the create operations only.
    const seen = evalModule(`
      const { operations, invokeOperation } = await import(${dist("index.js")});
      const { isRule } = await import(${dist("rules.js")});
      const vcpu = "must be between 1 and 8";
      const seen = { loaded: isRule(vcpu) };
      const status = operations.find((op) => op.name === "workspace_status");
      await invokeOperation(null, "workspace_status", { workspace_id: 1 }).catch(() => {});
      seen.statusBuilt = status.input === status.input;
      seen.afterStatus = isRule(vcpu);
      void operations.find((op) => op.name === "workspace_create").input;
      seen.afterCreate = isRule(vcpu);
      console.log(JSON.stringify(seen));
    `);
    expect(seen).toEqual({
      loaded: false,
      statusBuilt: true,
      afterStatus: false,
      afterCreate: true,
    });
  });
});

describe("building only the command group a call names", () => {
  it("lists, for every group, exactly the top-level commands it registers", () => {
    for (const group of commandGroups) {
      const program = new Command();
      group.register(program);
      expect(program.commands.flatMap((command) => [command.name(), ...command.aliases()])).toEqual(
        group.names,
      );
    }
  });

  it("builds one group for a named command and the whole tree otherwise", () => {
    const whole = buildProgram().commands.map((command) => command.name());
    expect(
      buildProgram(["node", "pyro", "workspace", "status"]).commands.map((c) => c.name()),
    ).toEqual(["workspace"]);
    for (const first of ["--json", "help", "wokrspace"]) {
      expect(buildProgram(["node", "pyro", first]).commands.map((c) => c.name())).toEqual(whole);
    }
    expect(buildProgram(["node", "pyro"]).commands.map((c) => c.name())).toEqual(whole);
  });
});
