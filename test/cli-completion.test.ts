/**
 * `pyro completion bash|zsh`: the scripts @bomb.sh/tab generates from the command tree. The
 * bash script must parse (`bash -n`) and, sourced into a real bash with `pyro` on PATH (the
 * built CLI), complete a subcommand and a flag as a Tab would: the script calls
 * `pyro complete -- WORDS…` and fills COMPREPLY.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { useTempState } from "./helpers.js";
import { cliPath } from "./mcp-client.js";

const state = useTempState();

function pyro(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: "utf8" });
}

/** A `pyro` on PATH that runs the built CLI, as an installed one would. */
function pathWithPyro(): string {
  const bin = path.join(state.base(), "bin");
  fs.mkdirSync(bin, { recursive: true });
  const shim = path.join(bin, "pyro");
  fs.writeFileSync(
    shim,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} "$@"\n`,
  );
  fs.chmodSync(shim, 0o755);
  return `${bin}${path.delimiter}${process.env.PATH ?? ""}`;
}

/** What bash offers at Tab after `words` (the last word is the one being completed). */
function bashCompletions(script: string, words: string[]): string[] {
  const file = path.join(state.base(), "pyro.bash");
  fs.writeFileSync(file, script);
  const quoted = words.map((word) => `'${word}'`).join(" ");
  const result = spawnSync(
    "bash",
    [
      "--norc",
      "-c",
      `source ${JSON.stringify(file)}; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; __pyro_complete 2>/dev/null; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: "utf8", env: { ...process.env, PATH: pathWithPyro() } },
  );
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split("\n").filter(Boolean);
}

describe("pyro completion", () => {
  it("writes a bash script that parses and completes subcommands and flags", () => {
    const generated = pyro("completion", "bash");
    expect(generated.status, generated.stderr).toBe(0);
    const file = path.join(state.base(), "syntax.bash");
    fs.writeFileSync(file, generated.stdout);
    const syntax = spawnSync("bash", ["-n", file], { encoding: "utf8" });
    expect(syntax.status, syntax.stderr).toBe(0);

    expect(bashCompletions(generated.stdout, ["pyro", "work"])).toEqual(["workspace"]);
    expect(bashCompletions(generated.stdout, ["pyro", "workspace", "sn"])).toEqual(["snapshot"]);
    expect(bashCompletions(generated.stdout, ["pyro", "workspace", "logs", "x", "--fo"])).toEqual([
      "--follow",
    ]);
  });

  it("writes a zsh script and refuses other shells", () => {
    const zsh = pyro("completion", "zsh");
    expect(zsh.status, zsh.stderr).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef pyro/);
    const fish = pyro("completion", "fish");
    expect(fish.status).toBe(1);
    expect(fish.stderr).toContain("shell must be one of bash, zsh, got 'fish'");
  });
});
