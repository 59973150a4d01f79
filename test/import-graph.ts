/**
 * The import graph of the source tree, read with the TypeScript compiler's parser, and the
 * checks the build runs over it (test/layers.test.ts): no cycles, no import against the
 * layer order of docs/architecture.md, no export nobody imports, no file nothing reaches.
 * The checks are plain functions over a graph, so the tests can feed them a synthetic one.
 */
import fs from "node:fs";
import path from "node:path";

import ts from "typescript";

/** `type`: erased at run time (`import type`); `dynamic`: `await import()`, loaded on use. */
export type EdgeKind = "static" | "type" | "dynamic";

export interface ImportEdge {
  /** Importing file, relative to the root (`src/core/vms.ts`). */
  from: string;
  /** Imported file relative to the root, or `pkg:<name>` for a package or `node:` builtin. */
  to: string;
  kind: EdgeKind;
  /** Names taken from the target; `*` for a namespace, an `export *` or an unknown use. */
  names: string[];
  /** `export … from`: the file hands the names on rather than using them. */
  reExport?: boolean;
}

export interface SourceFile {
  file: string;
  edges: ImportEdge[];
  /** Names this file exports (own declarations and re-exports). */
  exports: string[];
}

const SOURCE = /\.(m?ts)$/;

/** Every .ts/.mts file under `dirs` (relative to `root`), parsed. */
export function readSources(root: string, dirs: string[]): SourceFile[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(full);
    }
  };
  for (const dir of dirs) walk(path.join(root, dir));
  return files.map((full) => parseSource(root, full));
}

function parseSource(root: string, full: string): SourceFile {
  const file = path.relative(root, full);
  const text = fs.readFileSync(full, "utf8");
  const source = ts.createSourceFile(full, text, ts.ScriptTarget.Latest, true);
  const edges: ImportEdge[] = [];
  const exports: string[] = [];
  const target = (specifier: string): string => {
    if (!specifier.startsWith(".")) {
      const parts = specifier.replace(/^node:/, "node:").split("/");
      const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
      return `pkg:${name}`;
    }
    const resolved = path.resolve(path.dirname(full), specifier).replace(/\.(m?)js$/, ".$1ts");
    return path.relative(root, resolved);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const names: string[] = [];
      if (clause?.name) names.push("default");
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) {
        names.push(...namespaceMembers(source, bindings.name.text));
      }
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          names.push((element.propertyName ?? element.name).text);
        }
      }
      const typeOnly =
        clause?.isTypeOnly === true ||
        (bindings !== undefined &&
          ts.isNamedImports(bindings) &&
          bindings.elements.length > 0 &&
          !clause?.name &&
          bindings.elements.every((element) => element.isTypeOnly));
      edges.push({
        from: file,
        to: target(node.moduleSpecifier.text),
        kind: typeOnly ? "type" : "static",
        names,
      });
    } else if (ts.isExportDeclaration(node)) {
      const names: string[] = [];
      if (!node.exportClause) names.push("*");
      else if (ts.isNamespaceExport(node.exportClause)) exports.push(node.exportClause.name.text);
      else {
        for (const element of node.exportClause.elements) {
          names.push((element.propertyName ?? element.name).text);
          exports.push(element.name.text);
        }
      }
      if (node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        edges.push({
          from: file,
          to: target(node.moduleSpecifier.text),
          kind: node.isTypeOnly ? "type" : "static",
          names: node.exportClause && ts.isNamespaceExport(node.exportClause) ? ["*"] : names,
          reExport: !(node.exportClause && ts.isNamespaceExport(node.exportClause)),
        });
      }
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      edges.push({
        from: file,
        to: target(node.arguments[0].text),
        kind: "dynamic",
        names: dynamicNames(node),
      });
    } else if (isExported(node)) {
      exports.push(...declaredNames(node));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { file, edges, exports };
}

function isExported(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  );
}

function declaredNames(node: ts.Node): string[] {
  if (ts.isVariableStatement(node)) {
    return node.declarationList.declarations.flatMap((d) =>
      ts.isIdentifier(d.name) ? [d.name.text] : [],
    );
  }
  const isDefault = (ts.getModifiers(node as ts.HasModifiers) ?? []).some(
    (m) => m.kind === ts.SyntaxKind.DefaultKeyword,
  );
  if (isDefault) return ["default"];
  const name = (node as { name?: ts.Node }).name;
  return name && ts.isIdentifier(name) ? [name.text] : [];
}

/**
 * The members `import * as ns` takes: each `ns.name` (a value or a type); `*` when `ns`
 * is also used whole (passed on, spread), which may take anything.
 */
function namespaceMembers(source: ts.SourceFile, namespace: string): string[] {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === namespace && !ts.isNamespaceImport(node.parent)) {
      const parent = node.parent;
      if (ts.isPropertyAccessExpression(parent) && parent.expression === node) {
        names.add(parent.name.text);
      } else if (ts.isQualifiedName(parent) && parent.left === node) {
        names.add(parent.right.text);
      } else {
        names.add("*");
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...names];
}

/** `const { a, b } = await import("x")` names a and b; any other use may take anything. */
function dynamicNames(call: ts.CallExpression): string[] {
  let node: ts.Node = call.parent;
  if (ts.isAwaitExpression(node)) node = node.parent;
  if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name)) {
    return node.name.elements.map((element) => {
      const key = element.propertyName ?? element.name;
      return ts.isIdentifier(key) ? key.text : "*";
    });
  }
  return ["*"];
}

// ---- layers -------------------------------------------------------------------------------

export interface Layer {
  name: string;
  /** Files (`src/index.ts`) or directories (`src/core/`) that belong to it. */
  paths: string[];
  /** Layers it may import from (its own files it always may). */
  mayImport: string[];
  /** Layers it may import only lazily (`await import()`) or for types. */
  mayImportLazily?: string[];
}

const LEAF = "leaf";

/** The allowed directions; docs/architecture.md shows the same table. */
export const LAYERS: Layer[] = [
  {
    name: "entry",
    paths: ["src/index.ts", "src/runtime.ts"],
    mayImport: [
      "sdk",
      "operations",
      "core",
      "backends",
      "environments",
      "store",
      "protocol",
      "archive",
      "diff",
      LEAF,
    ],
  },
  {
    name: "cli",
    paths: ["src/cli/"],
    mayImport: ["operations", "core", LEAF],
    mayImportLazily: ["mcp"],
  },
  { name: "mcp", paths: ["src/mcp/"], mayImport: ["operations", "core", LEAF] },
  {
    name: "sdk",
    paths: ["src/sdk/"],
    mayImport: ["operations", "core", LEAF],
    mayImportLazily: ["mcp"],
  },
  { name: "operations", paths: ["src/operations/"], mayImport: ["core", "store", LEAF] },
  {
    name: "core",
    paths: ["src/core/"],
    mayImport: ["backends", "environments", "store", "protocol", "archive", "diff", LEAF],
  },
  {
    name: "backends",
    paths: ["src/backends/"],
    mayImport: ["environments", "store", "protocol", LEAF],
  },
  { name: "environments", paths: ["src/environments/"], mayImport: ["store", "protocol", LEAF] },
  { name: "store", paths: ["src/store/"], mayImport: [LEAF] },
  { name: "protocol", paths: ["src/protocol/"], mayImport: [LEAF] },
  { name: "archive", paths: ["src/archive/"], mayImport: [LEAF] },
  { name: "diff", paths: ["src/diff/"], mayImport: [LEAF] },
  { name: "agent", paths: ["src/agent/"], mayImport: ["protocol", "archive", "diff", LEAF] },
  {
    name: LEAF,
    paths: [
      "src/shared/",
      "src/process/",
      "src/errors.ts",
      "src/no-follow.ts",
      "src/package-root.ts",
      "src/version.ts",
    ],
    mayImport: [],
  },
];

export function layerOf(file: string, layers: Layer[] = LAYERS): Layer | undefined {
  return layers.find((layer) =>
    layer.paths.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p)),
  );
}

/** Every internal import that runs against the layer table, and every file in no layer. */
export function layerViolations(edges: ImportEdge[], layers: Layer[] = LAYERS): string[] {
  const problems: string[] = [];
  for (const edge of edges) {
    if (edge.to.startsWith("pkg:")) continue;
    const from = layerOf(edge.from, layers);
    const to = layerOf(edge.to, layers);
    if (!from || !to) {
      problems.push(`${!from ? edge.from : edge.to} is in no layer (add it to LAYERS)`);
      continue;
    }
    if (from === to || from.mayImport.includes(to.name)) continue;
    if (edge.kind !== "static" && from.mayImportLazily?.includes(to.name)) continue;
    const how = from.mayImportLazily?.includes(to.name) ? " (only lazily or for types)" : "";
    problems.push(`${edge.from} imports ${edge.to}: ${from.name} may not import ${to.name}${how}`);
  }
  return [...new Set(problems)];
}

/** Import cycles between files (every kind of import counts), each as a path a → b → a. */
export function findCycles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (edge.to.startsWith("pkg:")) continue;
    next.set(edge.from, (next.get(edge.from) ?? new Set()).add(edge.to));
  }
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (state.get(to) === "open") cycles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...next.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** The same edges between modules: `src/<dir>` for a directory's files, else the file itself. */
export function moduleEdges(edges: ImportEdge[]): ImportEdge[] {
  const moduleOf = (file: string): string => {
    const parts = file.split("/");
    return parts.length > 2 ? parts.slice(0, 2).join("/") : file;
  };
  return edges
    .map((edge) => ({ ...edge, from: moduleOf(edge.from), to: moduleOf(edge.to) }))
    .filter((edge) => edge.from !== edge.to);
}

/** Files loaded at run time when `entry` is imported (static, non-type imports only). */
export function loadedBy(entry: string, edges: ImportEdge[]): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    for (const edge of edges) {
      if (edge.from === file && edge.kind === "static" && !seen.has(edge.to)) {
        seen.add(edge.to);
        if (!edge.to.startsWith("pkg:")) queue.push(edge.to);
      }
    }
  }
  return seen;
}

// ---- unused code --------------------------------------------------------------------------

/**
 * Exports of `checked` files that no other file imports, and checked files that no entry
 * reaches. The public entry's exports count as used (they are the package's API).
 */
export function unusedCode(
  sources: SourceFile[],
  options: { entries: string[]; checked: (file: string) => boolean; publicEntries: string[] },
): string[] {
  const used = new Map<string, Set<string>>();
  const byFile = new Map(sources.map((source) => [source.file, source]));
  const use = (file: string, name: string): void => {
    const names = used.get(file) ?? new Set<string>();
    if (names.has(name)) return;
    names.add(name);
    used.set(file, names);
    // A re-export passes the use on to the file the name comes from.
    for (const edge of byFile.get(file)?.edges ?? []) {
      if (!edge.reExport) continue;
      if (name === "*") for (const each of edge.names) use(edge.to, each);
      else if (edge.names.includes(name) || edge.names.includes("*")) use(edge.to, name);
    }
  };
  for (const entry of options.publicEntries) use(entry, "*");
  for (const source of sources) {
    for (const edge of source.edges) {
      if (edge.to.startsWith("pkg:") || edge.reExport) continue;
      for (const name of edge.names) use(edge.to, name);
    }
  }
  const problems: string[] = [];
  for (const source of sources) {
    if (!options.checked(source.file)) continue;
    const names = used.get(source.file) ?? new Set<string>();
    if (names.has("*")) continue;
    for (const name of source.exports) {
      if (!names.has(name)) problems.push(`${source.file}: export '${name}' is never imported`);
    }
  }
  const reached = new Set<string>();
  const queue = [...options.entries];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (reached.has(file)) continue;
    reached.add(file);
    for (const edge of byFile.get(file)?.edges ?? []) queue.push(edge.to);
  }
  for (const source of sources) {
    if (options.checked(source.file) && !reached.has(source.file)) {
      problems.push(`${source.file}: no entry point imports this file`);
    }
  }
  return problems;
}
