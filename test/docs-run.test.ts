/**
 * The docs run as written: every ```sh block of README.md and docs/*.md marked with
 * `<!-- test: run -->` on the line before it runs, against the built CLI on the host
 * backend (docs/testing.md, "Runnable docs"). A file's marked blocks run in order in one
 * bash (`set -euo pipefail`), so a later block may use what an earlier one set (`$ID`), in
 * a fresh directory, with `pyro` on PATH, a temp state dir, an empty environment cache and
 * a temp HOME. A block that exits non-zero fails the test, naming the doc line.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { useTempState } from "./helpers.js";
import { cliPath } from "./mcp-client.js";

const root = path.resolve(import.meta.dirname, "..");
const state = useTempState();
const MARKER = "<!-- test: run -->";

interface Block {
  /** 1-based line of the block's first command in the doc. */
  line: number;
  code: string;
}

/**
 * The marked ```sh blocks of a Markdown text: the marker outside any fence, then (after
 * blank lines, which prettier puts there) the opening fence.
 */
function runnableBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  let inFence = false;
  for (let index = 0; index < lines.length; index++) {
    const text = lines[index] ?? "";
    if (text.startsWith("```")) inFence = !inFence;
    if (inFence || text.trim() !== MARKER) continue;
    let open = index + 1;
    while ((lines[open] ?? "x").trim() === "" && open < lines.length) open++;
    if (!/^```(sh|bash)\s*$/.test(lines[open] ?? "")) {
      throw new Error(`line ${index + 1}: ${MARKER} must be followed by a \`\`\`sh block`);
    }
    const close = lines.findIndex((line, at) => at > open && line.startsWith("```"));
    if (close === -1) throw new Error(`line ${open + 1}: the marked block is not closed`);
    blocks.push({ line: open + 2, code: lines.slice(open + 1, close).join("\n") });
    index = close;
  }
  return blocks;
}

/**
 * One bash script for a file's blocks. Each block starts with a line that records where it
 * came from, so a failure is reported as the doc's line.
 */
function scriptFor(blocks: Block[]): { script: string; docLine: (scriptLine: number) => number } {
  const header = [
    "set -euo pipefail",
    `trap 'echo "docs-run: FAILED (exit $?) at script line $LINENO: $BASH_COMMAND" >&2' ERR`,
  ];
  const starts: Array<{ scriptLine: number; docLine: number }> = [];
  const body: string[] = [...header];
  for (const block of blocks) {
    starts.push({ scriptLine: body.length + 1, docLine: block.line });
    body.push(...block.code.split("\n"));
  }
  const docLine = (scriptLine: number): number => {
    const start = starts.filter((item) => item.scriptLine <= scriptLine).at(-1);
    return start ? start.docLine + (scriptLine - start.scriptLine) : 0;
  };
  return { script: `${body.join("\n")}\n`, docLine };
}

function docsWithBlocks(): string[] {
  const docs = fs
    .readdirSync(path.join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => path.join("docs", name));
  return ["README.md", ...docs].filter(
    (file) => runnableBlocks(fs.readFileSync(path.join(root, file), "utf8")).length > 0,
  );
}

function runDoc(file: string) {
  const blocks = runnableBlocks(fs.readFileSync(path.join(root, file), "utf8"));
  const base = state.base();
  const bin = path.join(base, "bin");
  const work = path.join(base, "work");
  const home = path.join(base, "home");
  for (const dir of [bin, work, home]) fs.mkdirSync(dir, { recursive: true });
  const shim = path.join(bin, "pyro");
  fs.writeFileSync(
    shim,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} "$@"\n`,
  );
  fs.chmodSync(shim, 0o755);
  const { script, docLine } = scriptFor(blocks);
  const env: Record<string, string> = {
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
    HOME: home,
    PYRO_BACKEND: "host",
    PYRO_STATE_DIR: state.stateDir(),
    PYRO_ENVIRONMENT_CACHE_DIR: path.join(base, "cache"),
    LANG: "C.UTF-8",
  };
  const result = spawnSync("bash", ["-c", script], { cwd: work, encoding: "utf8", env });
  const failedAt = /at script line (\d+)/.exec(result.stderr);
  const where = failedAt ? `${file}:${docLine(Number(failedAt[1]))}` : file;
  return { result, where, blocks };
}

describe("runnable blocks", () => {
  it("are found after the marker, and the marker must precede a sh block", () => {
    const doc = ["text", MARKER, "", "```sh", "echo one", "echo two", "```", "```sh", "no", "```"];
    expect(runnableBlocks(doc.join("\n"))).toEqual([{ line: 5, code: "echo one\necho two" }]);
    // The marker shown inside a fence (as docs/testing.md does) marks nothing.
    expect(runnableBlocks(["```", MARKER, "```", "```sh", "no", "```"].join("\n"))).toEqual([]);
    expect(() => runnableBlocks([MARKER, "```ts", "x", "```"].join("\n"))).toThrow(
      "must be followed by a ```sh block",
    );
  });

  it("report the doc line of a failing command", () => {
    const blocks = runnableBlocks(["a", MARKER, "```sh", "true", "false", "```"].join("\n"));
    const { script, docLine } = scriptFor(blocks);
    const result = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(result.status).not.toBe(0);
    const line = Number(/at script line (\d+)/.exec(result.stderr)?.[1]);
    expect(docLine(line)).toBe(5);
  });

  it("exist in the README and in several docs", () => {
    const files = docsWithBlocks();
    expect(files).toContain("README.md");
    expect(files.length).toBeGreaterThanOrEqual(3);
  });
});

describe.each(docsWithBlocks())("%s", (file) => {
  it("runs its marked blocks on the host backend", () => {
    const { result, where, blocks } = runDoc(file);
    expect(blocks.length).toBeGreaterThan(0);
    expect(result.status, `${where}\n${result.stdout}\n${result.stderr}`).toBe(0);
  }, 120_000);
});
