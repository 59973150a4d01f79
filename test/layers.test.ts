/**
 * The module structure the build enforces (docs/architecture.md, "Layers"): no import cycle,
 * no import against the layer table, a light SDK entry, no export nobody imports and no file
 * nothing reaches. Each check is shown to fail on a synthetic graph first, so a check that
 * silently passes everything would be caught too.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import {
  findCycles,
  layerViolations,
  loadedBy,
  moduleEdges,
  readSources,
  unusedCode,
  type ImportEdge,
  type SourceFile,
} from "./import-graph.js";

const root = path.resolve(import.meta.dirname, "..");
const sources = readSources(root, ["src", "test", "scripts", "examples"]);
const edges = sources.filter((source) => source.file.startsWith("src/")).flatMap((s) => s.edges);

/** Every program that runs on its own: the package entries, the agent, the supervisor, tests, scripts. */
const ENTRIES = [
  "src/index.ts",
  "src/runtime.ts",
  "src/mcp/embed.ts",
  "src/cli/main.ts",
  // The CommonJS read path's entry: main.ts requires its bundle (scripts/build-cli.mjs).
  "src/cli/read.ts",
  "src/agent/main.ts",
  "src/backends/qemu/supervisor.ts",
  "src/archive/pack-worker.mts",
  ...sources.filter((source) => !source.file.startsWith("src/")).map((source) => source.file),
];

const edge = (from: string, to: string, kind: ImportEdge["kind"] = "static"): ImportEdge => ({
  from,
  to,
  kind,
  names: ["x"],
});

describe("the checks catch what they are for", () => {
  it("finds a cycle, also through a type import", () => {
    const cycles = findCycles([
      edge("src/core/a.ts", "src/core/b.ts"),
      edge("src/core/b.ts", "src/core/c.ts", "type"),
      edge("src/core/c.ts", "src/core/a.ts"),
      edge("src/core/c.ts", "pkg:zod"),
    ]);
    expect(cycles).toEqual([["src/core/a.ts", "src/core/b.ts", "src/core/c.ts", "src/core/a.ts"]]);
    expect(findCycles([edge("src/core/a.ts", "src/core/b.ts")])).toEqual([]);
  });

  it("finds a cycle between modules that no two files close", () => {
    const edges = [
      edge("src/agent/services.ts", "src/core/limits.ts"),
      edge("src/core/shells.ts", "src/agent/shells.ts"),
    ];
    expect(findCycles(edges)).toEqual([]);
    expect(findCycles(moduleEdges(edges))).toEqual([["src/agent", "src/core", "src/agent"]]);
  });

  it("refuses upward and sideways imports, and files outside every layer", () => {
    expect(
      layerViolations([
        edge("src/store/lock.ts", "src/agent/process-group.ts"),
        edge("src/core/vms.ts", "src/agent/exec.ts", "type"),
        edge("src/environments/pull.ts", "src/core/limits.ts"),
        edge("src/agent/services.ts", "src/core/limits.ts"),
        edge("src/sdk/pyro.ts", "src/mcp/server.ts"),
        edge("src/stray.ts", "src/errors.ts"),
      ]),
    ).toEqual([
      "src/store/lock.ts imports src/agent/process-group.ts: store may not import agent",
      "src/core/vms.ts imports src/agent/exec.ts: core may not import agent",
      "src/environments/pull.ts imports src/core/limits.ts: environments may not import core",
      "src/agent/services.ts imports src/core/limits.ts: agent may not import core",
      "src/sdk/pyro.ts imports src/mcp/server.ts: sdk may not import mcp (only lazily or for types)",
      "src/stray.ts is in no layer (add it to LAYERS)",
    ]);
  });

  it("allows downward imports, a lazy front-end import and leaves", () => {
    expect(
      layerViolations([
        edge("src/sdk/pyro.ts", "src/mcp/server.ts", "dynamic"),
        edge("src/core/vms.ts", "src/shared/limits.ts"),
        edge("src/agent/exec.ts", "src/process/ownership.ts"),
        edge("src/backends/index.ts", "src/environments/store.ts"),
        edge("src/cli/output.ts", "pkg:commander"),
      ]),
    ).toEqual([]);
  });

  it("reports an export nobody imports and a file nothing reaches", () => {
    const fixture: SourceFile[] = [
      { file: "src/index.ts", exports: ["api"], edges: [edge("src/index.ts", "src/a.ts")] },
      { file: "src/a.ts", exports: ["x", "unused"], edges: [] },
      { file: "src/orphan.ts", exports: [], edges: [] },
    ];
    expect(
      unusedCode(fixture, {
        entries: ["src/index.ts"],
        publicEntries: ["src/index.ts"],
        checked: (file) => file.startsWith("src/"),
      }),
    ).toEqual([
      "src/a.ts: export 'unused' is never imported",
      "src/orphan.ts: no entry point imports this file",
    ]);
  });

  it("counts the members a namespace import uses, not the whole module", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-graph-"));
    try {
      fs.mkdirSync(path.join(dir, "src"));
      const write = (file: string, text: string): void =>
        fs.writeFileSync(path.join(dir, "src", file), text);
      write("a.ts", "export const used = 1;\nexport type Kind = 1;\nexport const unused = 2;\n");
      write("index.ts", 'import * as a from "./a.js";\nexport const v: a.Kind = a.used;\n');
      const options = { entries: ["src/index.ts"], publicEntries: ["src/index.ts"] };
      expect(unusedCode(readSources(dir, ["src"]), { ...options, checked: () => true })).toEqual([
        "src/a.ts: export 'unused' is never imported",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the source tree", () => {
  it("has no import cycle, between files or between modules", () => {
    expect(findCycles(edges).map((cycle) => cycle.join(" -> "))).toEqual([]);
    expect(findCycles(moduleEdges(edges)).map((cycle) => cycle.join(" -> "))).toEqual([]);
  });

  it("imports only along the layers of docs/architecture.md", () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  it("keeps front ends off the manager's internals", () => {
    const reaching = sources
      .filter((source) => /^src\/(cli|mcp|sdk|operations)\//.test(source.file))
      .filter((source) =>
        /\bmanager\.context\b/.test(fs.readFileSync(path.join(root, source.file), "utf8")),
      )
      .map((source) => source.file);
    expect(reaching).toEqual([]);
  });

  it("loads no MCP server code when the SDK entry is imported", () => {
    const loaded = [...loadedBy("src/index.ts", edges)];
    expect(loaded.filter((file) => file.startsWith("src/mcp/"))).toEqual([]);
    expect(loaded).not.toContain("pkg:@modelcontextprotocol/sdk");
  });

  it("loads no runtime when the SDK entry is imported: the Manager and schemas come on first use", () => {
    const loaded = [...loadedBy("src/index.ts", edges)];
    expect(loaded.filter((file) => /^src\/(core|operations|backends)\//.test(file))).toEqual([
      "src/core/client-registry.ts",
    ]);
    expect(loaded).not.toContain("pkg:zod");
  });

  it("has no unused export and no unreachable file", () => {
    expect(
      unusedCode(sources, {
        entries: ENTRIES,
        publicEntries: ["src/index.ts", "src/runtime.ts", "src/mcp/embed.ts"],
        checked: (file) => file.startsWith("src/"),
      }),
    ).toEqual([]);
  });

  it("has no source file over 400 lines (split by feature instead)", () => {
    const long = sources
      // A generated file (scripts/sdk-types.ts writes *.generated.ts) is read by tools, not people.
      .filter((source) => source.file.startsWith("src/") && !source.file.endsWith(".generated.ts"))
      .map((source) => {
        const text = fs.readFileSync(path.join(root, source.file), "utf8");
        return { file: source.file, lines: text.split("\n").length - 1 };
      })
      .filter((entry) => entry.lines > MAX_FILE_LINES)
      .map((entry) => `${entry.file}: ${entry.lines} lines`);
    expect(long).toEqual([]);
  });
});

/** Longer than this is a file to split by feature (issue 10). */
const MAX_FILE_LINES = 400;
