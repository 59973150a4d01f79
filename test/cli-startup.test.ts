/**
 * The built CLI's start-up (docs/cli.md, "Start-up time"): module loading was most of a
 * read-only call's cost, about 200 files (pyro's own modules, commander, zod and all of
 * zod's 64 translations) before every command. The bundle (scripts/build-cli.mjs) loads a
 * handful, and a read-only call one CommonJS file (chunks/read.cjs: no ES module loader, no
 * subprocess-capable built-in). Counted with module loader hooks and Node's own lists, not
 * timed: the counts are exact on any machine.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { Command } from "commander";
import { describe, expect, it } from "vitest";

import { commandGroups } from "../src/cli/commands/index.js";
import { buildProgram } from "../src/cli/program.js";

import { useTempState, zodLoadedIn, zodProbe } from "./helpers.js";
import { cliPath, pyroEnv } from "./mcp-client.js";

const state = useTempState();

/** The files (file: URLs) a CLI call loads as ES module loader hooks see them, in load order, with their formats, and its result. */
function loadedFiles(...args: string[]) {
  const hooks = path.join(state.base(), "log-hooks.mjs");
  fs.writeFileSync(
    hooks,
    `export async function load(url, context, next) {
      const loaded = await next(url, context);
      if (url.startsWith("file:")) process.stderr.write("LOADED " + loaded.format + " " + url + "\\n");
      return loaded;
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
  const loaded = result.stderr
    .split("\n")
    .filter((line) => line.startsWith("LOADED "))
    .map((line) => line.slice("LOADED ".length).split(" "))
    .filter(([, url]) => url !== pathToFileURL(register).href);
  return {
    files: loaded.map(([, url]) => url!),
    formats: loaded.map(([format]) => format!),
    result,
  };
}

/**
 * Whether a CLI call loaded zod: the bundle requires chunks/zod.cjs on first use
 * (scripts/build-cli.mjs), so a preloaded script looks for it in the CommonJS cache at exit.
 */
function loadsZod(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    ["--require", zodProbe(state.base()), cliPath, ...args],
    {
      encoding: "utf8",
      env: pyroEnv(state.stateDir()),
    },
  );
  const loaded = zodLoadedIn(result.stderr);
  expect(loaded, result.stderr).toBeDefined();
  return { loaded: loaded === true, result };
}

/**
 * What a CLI call loaded the CommonJS way: the package's files (relative to dist/cli) in
 * the require cache and the built-in modules Node loaded for it, seen at exit from a
 * preloaded script, beside the ES modules the loader hook saw.
 */
function loadedCommonJs(...args: string[]) {
  const preload = path.join(state.base(), "cjs-probe.cjs");
  fs.writeFileSync(
    preload,
    `const before = new Set(process.moduleLoadList);
    process.on("exit", () => {
      const files = Object.keys(require.cache).filter((file) => file !== __filename);
      const builtins = process.moduleLoadList
        .filter((name) => !before.has(name) && name.startsWith("NativeModule "))
        .map((name) => name.slice("NativeModule ".length))
        .filter((name) => !name.startsWith("internal/"));
      process.stderr.write("CJS-LOADED " + JSON.stringify({ files, builtins }) + "\\n");
    });`,
  );
  const result = spawnSync(process.execPath, ["--require", preload, cliPath, ...args], {
    encoding: "utf8",
    env: pyroEnv(state.stateDir()),
  });
  const line = /CJS-LOADED (.*)/.exec(result.stderr)?.[1];
  expect(line, result.stderr).toBeDefined();
  const loaded = JSON.parse(line!) as { files: string[]; builtins: string[] };
  const dir = path.dirname(cliPath);
  return {
    files: loaded.files.map((file) => path.relative(dir, file)),
    builtins: loaded.builtins,
    result,
  };
}

/** A host-compat workspace made through the CLI; with `logCommand`, one exec logged in it. */
function createWorkspace(options: { logCommand?: boolean } = {}): string {
  const env = pyroEnv(state.stateDir());
  const created = spawnSync(
    process.execPath,
    [cliPath, "workspace", "create", "debian:12", "--allow-host-compat", "--json"],
    { encoding: "utf8", env },
  );
  const id = (JSON.parse(created.stdout) as { workspace_id: string }).workspace_id;
  if (options.logCommand) {
    spawnSync(process.execPath, [cliPath, "workspace", "exec", id, "--", "true"], { env });
  }
  return id;
}

/** Every call the read path serves (src/cli/read-only.ts), on workspace `id`. */
function readOnlyCalls(id: string): string[][] {
  return [
    ["workspace", "status", id, "--json"],
    ["workspace", "logs", id],
    ["workspace", "list"],
    ["env", "list"],
  ];
}

describe("the CLI's start-up", () => {
  it("loads a handful of files for a read-only call, none of them from node_modules", () => {
    const id = createWorkspace();
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
    // A command logged: `logs` reads the command log and `status` asks the agent.
    const id = createWorkspace({ logCommand: true });
    // The input, the records and the agent's answers pass their generated JSON schemas
    // (src/shared/fast-check.ts), so no zod schema is built and zod is never loaded.
    for (const args of readOnlyCalls(id)) {
      const { loaded, result } = loadsZod(...args);
      expect(result.status, result.stderr).toBe(0);
      expect(loaded, args.join(" ")).toBe(false);
    }
    // zod is nowhere else in the bundle: no chunk could have loaded it unseen.
    const chunks = path.join(path.dirname(cliPath), "chunks");
    const withZod = fs
      .readdirSync(chunks)
      .filter((name) => name.endsWith(".js") || name === "read.cjs")
      .filter((name) => fs.readFileSync(path.join(chunks, name), "utf8").includes('"$ZodType"'));
    expect(withZod).toEqual([]);
    // Input the JSON schema refuses goes to zod, which words the error as it always did.
    const refused = loadsZod("workspace", "logs", id, "--tail", "-1");
    expect(refused.result.status).toBe(1);
    expect(refused.result.stderr).toContain("tail must be between 0 and 10000, got -1");
    expect(refused.loaded).toBe(true);
  }, 120_000);

  it("serves a read-only call from one CommonJS file: no ES module, no subprocess built-in", () => {
    const id = createWorkspace({ logCommand: true });
    for (const args of readOnlyCalls(id)) {
      // No ES module: the entry and the read path are CommonJS (the ES module loader alone
      // cost about 20 ms, each file about 0.6 ms more). With a loader hook registered, Node
      // loads the entry through the ES module loader, as CommonJS.
      const esm = loadedFiles(...args);
      expect(esm.result.status, esm.result.stderr).toBe(0);
      expect(esm.formats, args.join(" ")).toEqual(["commonjs"]);
      const { files, builtins, result } = loadedCommonJs(...args);
      expect(result.status, result.stderr).toBe(0);
      expect(files, args.join(" ")).toEqual(["main.js", "chunks/read.cjs"]);
      // Built-ins a read does not use load on first use (scripts/build-cli.mjs): none of
      // them, so no subprocess either (child_process is never loaded).
      // (crypto is left out: `env list` hashes what is pulled.)
      for (const unused of ["child_process", "dgram", "worker_threads", "zlib"]) {
        expect(builtins, `${args.join(" ")} loaded ${unused}`).not.toContain(unused);
      }
    }
  }, 120_000);

  it("answers a read-only call's help and errors exactly as the ES module bundle does", () => {
    const id = createWorkspace();
    // chunks/run.js is what main.js imports for every other call; it builds every workspace
    // subcommand, the read path only the one named.
    const esmEntry = path.join(path.dirname(cliPath), "chunks", "run.js");
    const run = (entry: string, args: string[]) => {
      const result = spawnSync(process.execPath, [entry, ...args], {
        encoding: "utf8",
        env: pyroEnv(state.stateDir()),
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    for (const args of [
      ["workspace", "status", "--help"],
      ["workspace", "status"],
      ["workspace", "status", "nosuchworkspace"],
      ["workspace", "status", id, "--bogus"],
      ["workspace", "status", id, "--jsn"],
      ["workspace", "logs", "--help"],
      ["workspace", "list", "--help"],
      ["workspace", "list", "--label"],
      ["workspace", "logs", id, "--tail", "-1"],
      ["workspace", "logs", id, "--json"],
      ["workspace", "list", "--state", "nosuchstate"],
      ["workspace", "list", "extra"],
      ["env", "list", "--help"],
      ["env", "list", "--bogus"],
    ]) {
      expect(run(cliPath, args), args.join(" ")).toEqual(run(esmEntry, args));
    }
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
