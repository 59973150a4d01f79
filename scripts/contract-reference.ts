/**
 * Renders the per-operation reference of docs/contract.md from the catalogue itself, so the
 * document cannot drift from the code: test/docs.test.ts fails when the file is stale, and
 * `UPDATE_DOCS=1 npx vitest run test/docs.test.ts` rewrites it.
 */
import { z } from "zod";

import type { AnyOperation } from "../src/operations/index.js";

export const BEGIN = "<!-- BEGIN GENERATED: operations -->";
export const END = "<!-- END GENERATED: operations -->";

interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  default?: unknown;
}

/** A field's rules from its schema: "1-8, default 1". */
function rulesOf(schema: JsonSchema): string {
  const low =
    schema.minimum ??
    (schema.exclusiveMinimum !== undefined ? `>${schema.exclusiveMinimum}` : undefined);
  const range =
    low !== undefined && schema.maximum !== undefined
      ? `${low}-${schema.maximum}`
      : low !== undefined
        ? `at least ${low}`
        : schema.maximum !== undefined
          ? `at most ${schema.maximum}`
          : "";
  const fallback = schema.default === undefined ? "" : `default ${JSON.stringify(schema.default)}`;
  return [range, fallback].filter(Boolean).join(", ");
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(" \\| ");
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(" \\| ");
  if (schema.type === "array") return `${schema.items ? typeOf(schema.items) : "unknown"}[]`;
  if (Array.isArray(schema.type)) return schema.type.join(" \\| ");
  if (schema.type === "object" && schema.properties) return "object";
  return schema.type ?? "any";
}

function fieldsTable(schema: JsonSchema, withDescriptions: boolean): string {
  const properties = Object.entries(schema.properties ?? {});
  if (properties.length === 0) return "_none_\n";
  const required = new Set(schema.required ?? []);
  const rows = properties.map(([name, field]) => {
    const need = required.has(name) ? "yes" : "no";
    const rules = rulesOf(field);
    const text = [field.description ?? "", rules && `(${rules})`].filter(Boolean).join(" ");
    const description = text.replace(/\|/g, "\\|");
    return withDescriptions
      ? `| \`${name}\` | ${typeOf(field)} | ${need} | ${description} |`
      : `| \`${name}\` | ${typeOf(field)} |`;
  });
  const header = withDescriptions
    ? "| field | type | required | meaning |\n| --- | --- | --- | --- |"
    : "| key | type |\n| --- | --- |";
  return `${header}\n${rows.join("\n")}\n`;
}

export function renderReference(operations: readonly AnyOperation[]): string {
  const sections = operations.map((operation) => {
    const input = z.toJSONSchema(operation.input, { io: "input" }) as JsonSchema;
    const output = z.toJSONSchema(operation.output, { io: "output" }) as JsonSchema;
    return [
      `### \`${operation.name}\` / \`${operation.method}\``,
      "",
      operation.description,
      "",
      "Input:",
      "",
      fieldsTable(input, true),
      "Result:",
      "",
      fieldsTable(output, false),
    ].join("\n");
  });
  return `${BEGIN}\n\n${sections.join("\n")}\n${END}`;
}
