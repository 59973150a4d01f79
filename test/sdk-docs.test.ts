/**
 * Every TypeScript block of docs/sdk.md compiles against the built package (issue 16): the
 * blocks are written out as modules of a consumer project (test/consumer-project.ts) and
 * type-checked strictly, so the page cannot drift from the API. A block is a whole program:
 * its imports included.
 */
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { STRICT_CONSUMER, consumerProject, repoRoot } from "./consumer-project.js";

const DOC = "docs/sdk.md";

/** The ```ts blocks of a Markdown text (any info string starting with ts), by first line. */
function typescriptBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const lines = markdown.split("\n");
  for (let index = 0; index < lines.length; index += 1) {
    if (!/^```ts\b/.test(lines[index] ?? "")) continue;
    const start = index + 1;
    let end = start;
    while (end < lines.length && lines[end] !== "```") end += 1;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    index = end;
  }
  return blocks;
}

describe("docs/sdk.md", () => {
  it("finds the blocks it checks", () => {
    expect(
      typescriptBlocks("a\n```ts\nconst x = 1;\n```\n```sh\nls\n```\n```ts runnable\nx;\n```\n"),
    ).toEqual([
      { line: 3, code: "const x = 1;" },
      { line: 9, code: "x;" },
    ]);
  });

  it("has TypeScript blocks that all compile against dist/", () => {
    const blocks = typescriptBlocks(fs.readFileSync(path.join(repoRoot, DOC), "utf8"));
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    const files = Object.fromEntries(
      blocks.map((block) => [`sdk-md-line-${block.line}.ts`, `${block.code}\n`]),
    );
    const project = consumerProject(
      files,
      {
        ...STRICT_CONSUMER,
        // A program on Node that uses `await using`: the lib and types such a project has.
        lib: ["ES2022", "esnext.disposable"],
        types: ["node"],
        // Our declarations are checked by test/sdk-consumer.test.ts; the MCP SDK's need DOM.
        skipLibCheck: true,
        exactOptionalPropertyTypes: false,
        noEmit: true,
      },
      ["@modelcontextprotocol/sdk"],
    );
    try {
      const { status, output } = project.compile();
      // Errors name the block by the line of docs/sdk.md it starts on.
      expect(output).toBe("");
      expect(status).toBe(0);
    } finally {
      project.remove();
    }
  }, 90_000);
});
