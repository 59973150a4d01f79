/**
 * Writes the SDK's public types (src/sdk/types.generated.ts) from the operation catalogue:
 * each operation's zod input and output schema goes through z.toJSONSchema (the same JSON
 * schema MCP clients see) and json-schema-to-typescript, so the declarations a consumer
 * compiles against are plain interfaces, not zod generics, and never drift from what the
 * operations validate. test/sdk-types.test.ts fails when the checked-in file is stale;
 * `UPDATE_TYPES=1 npx vitest run test/sdk-types.test.ts` rewrites it.
 */
import { compile, type JSONSchema } from "json-schema-to-typescript";
import prettier from "prettier";
import { z } from "zod";

import { BACKEND_NAMES } from "../src/backends/types.js";
import { ENVIRONMENTS } from "../src/shared/limits.js";
import { catalogue } from "../src/operations/catalog.js";
import { SHELL_SIGNALS } from "../src/shared/shell-signals.js";

export const GENERATED_TYPES_FILE = "src/sdk/types.generated.ts";

type Schema = Record<string, unknown>;

/** `workspace_exec` -> `WorkspaceExec`. */
function pascal(name: string): string {
  return name
    .split("_")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

/** Where a number is a point in time, say its unit (fractional seconds since the epoch). */
const TIMESTAMP_FIELD = /(_at|^mtime|^time)$/;
const TIMESTAMP_NOTE = "Unix time in seconds (UTC; may have a fraction).";

function isNumberSchema(schema: Schema): boolean {
  const type = schema.type;
  if (type === "number" || type === "integer") return true;
  if (Array.isArray(type)) return type.includes("number") || type.includes("integer");
  const anyOf = schema.anyOf ?? schema.oneOf;
  return Array.isArray(anyOf) && anyOf.some((member) => isNumberSchema(member as Schema));
}

/** Walks a JSON schema, documenting every timestamp field's unit. */
function annotateTimestamps(schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(annotateTimestamps);
  if (typeof schema !== "object" || schema === null) return;
  const record = schema as Schema;
  const properties = record.properties as Record<string, Schema> | undefined;
  for (const [key, property] of Object.entries(properties ?? {})) {
    if (!TIMESTAMP_FIELD.test(key) || !isNumberSchema(property)) continue;
    const description = typeof property.description === "string" ? property.description : "";
    if (/epoch|unix time/i.test(description)) continue;
    property.description = description ? `${description} ${TIMESTAMP_NOTE}` : TIMESTAMP_NOTE;
  }
  for (const value of Object.values(record)) annotateTimestamps(value);
}

/** One operation schema as JSON schema; its own definitions are hoisted into `defs`. */
function jsonSchema(
  schema: z.ZodType,
  io: "input" | "output",
  title: string,
  defs: Schema,
): Schema {
  const { $schema: _dialect, $defs, ...rest } = z.toJSONSchema(schema, { io }) as Schema;
  for (const [name, definition] of Object.entries(($defs as Schema | undefined) ?? {})) {
    if (name in defs && JSON.stringify(defs[name]) !== JSON.stringify(definition))
      throw new Error(`two different schemas share the definition name '${name}'`);
    defs[name] = definition;
  }
  return { ...rest, title };
}

const union = (values: readonly string[]): string =>
  values.map((value) => JSON.stringify(value)).join(" | ");

/** The whole generated file, formatted with the repository's prettier settings. */
export async function generateSdkTypes(): Promise<string> {
  const defs: Schema = {};
  const properties: Schema = {};
  const methods: string[] = [];
  for (const operation of catalogue) {
    const input = `${pascal(operation.name)}Input`;
    const result = `${pascal(operation.name)}Result`;
    defs[input] = jsonSchema(operation.input, "input", input, defs);
    defs[result] = jsonSchema(operation.output, "output", result, defs);
    properties[operation.name] = {
      type: "object",
      description: `${operation.method}: ${operation.description}`,
      properties: {
        method: { const: operation.method },
        input: { $ref: `#/$defs/${input}` },
        result: { $ref: `#/$defs/${result}` },
      },
      required: ["method", "input", "result"],
      additionalProperties: false,
    };
    methods.push(
      `/** ${operation.description.replaceAll("*/", "*\\/")} (MCP tool \`${operation.name}\`) */`,
      `${operation.method}(input: ${input}, options?: CallOptions): Promise<${result}>;`,
    );
  }
  const root: Schema = {
    title: "PyroOperations",
    description:
      "Every catalogue operation by MCP tool name: its SDK method name, input and result.",
    type: "object",
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
    $defs: defs,
  };
  annotateTimestamps(root);
  const declarations = await compile(root as JSONSchema, "PyroOperations", {
    bannerComment: "",
    additionalProperties: false,
    format: false,
    unknownAny: true,
  });
  const text = [
    "// Generated from the operation catalogue by scripts/sdk-types.ts: do not edit.",
    "// Regenerate with `UPDATE_TYPES=1 npx vitest run test/sdk-types.test.ts`.",
    "/* eslint-disable @typescript-eslint/no-empty-object-type -- an operation without input has {} */",
    'import type { CallOptions } from "./options.js";',
    "",
    "/** Where sandboxes run: `auto` picks per sandbox; `mock` is an alias of `host`. */",
    `export const BACKEND_CHOICES = ${JSON.stringify([...BACKEND_NAMES, "mock", "auto"])} as const;`,
    "export type BackendName = (typeof BACKEND_CHOICES)[number];",
    "/** The environments pyro knows (`pyro env list`). */",
    `export type EnvironmentName = ${union(ENVIRONMENTS)};`,
    "/** The signals a shell accepts (shell_signal). */",
    `export type ShellSignal = ${union(SHELL_SIGNALS)};`,
    "",
    declarations,
    "/** One catalogue operation as the SDK lists it (`operations`). */",
    "export interface OperationInfo {",
    "  readonly name: keyof PyroOperations;",
    "  readonly method: keyof PyroMethods;",
    "  /** When the operation is legal and what it returns (the MCP tool description). */",
    "  readonly description: string;",
    "}",
    "",
    "/**",
    " * Every operation of the public contract, in the order front ends list them: what the SDK",
    " * entry needs to install its methods without loading the catalogue's schemas.",
    " */",
    `export const OPERATIONS: readonly OperationInfo[] = ${JSON.stringify(
      catalogue.map(({ name, method, description }) => ({ name, method, description })),
    )};`,
    "",
    "/** One method per catalogue operation, named by its `method`; see PyroOperations. */",
    "export interface PyroMethods {",
    ...methods,
    "}",
    "",
  ].join("\n");
  const options = await prettier.resolveConfig(GENERATED_TYPES_FILE);
  return prettier.format(text, { ...options, parser: "typescript" });
}
