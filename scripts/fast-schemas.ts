/**
 * Writes src/shared/fast-schemas.generated.ts: the JSON schemas that check a read-only
 * call's input, records and agent answers without zod (src/shared/fast-check.ts), each
 * made by z.toJSONSchema from the zod schema that stays the one source of truth.
 * test/fast-schemas.test.ts fails when the checked-in file is stale;
 * `UPDATE_FAST_SCHEMAS=1 npx vitest run test/fast-schemas.test.ts` rewrites it.
 *
 * The JSON schema is zod's output side: a field with a default is required and an object
 * closed, so a value it accepts is one zod returns unchanged. A zod schema whose output can
 * differ from a valid input in any other way (a transform, a refinement the JSON schema
 * cannot say, a union of objects, where zod returns the first branch that fits, stripped)
 * is refused here, with the path of the part at fault.
 */
import prettier from "prettier";
import { z } from "zod";

import { operations } from "../src/operations/catalog.js";
import { AGENT_OPS, responseSchema } from "../src/protocol/operations.js";
import { FAST_KEYWORDS, type CheckedSchema } from "../src/shared/fast-check.js";
import * as records from "../src/store/records.js";
import * as environmentManifest from "../src/environments/manifest.js";
import * as supervisorConfig from "../src/backends/qemu/supervisor-config.js";

export const FAST_SCHEMAS_FILE = "src/shared/fast-schemas.generated.ts";

/** The zod schemas with a fast path, by the name src/ looks them up with. */
export function fastSchemaSources(): Record<string, z.ZodType> {
  const sources: Record<string, z.ZodType> = {};
  for (const value of [
    ...Object.values(records),
    ...Object.values(environmentManifest),
    ...Object.values(supervisorConfig),
  ]) {
    if (typeof value === "function" && "fastName" in value) {
      const schema = value as CheckedSchema<z.ZodType>;
      sources[schema.fastName] = schema();
    }
  }
  // The input of every operation that only reads (parseInput, src/operations/define.ts).
  for (const operation of operations) {
    if (operation.effect === "read") sources[`input:${operation.name}`] = operation.input;
  }
  // Every answer of the agent (AgentClient.call, src/protocol/client.ts).
  for (const op of AGENT_OPS) sources[`agent:${op}`] = responseSchema(op) as z.ZodType;
  return sources;
}

/** zod types whose output is their valid input (with defaults filled in, see above). */
const PLAIN_TYPES = new Set([
  "object",
  "string",
  "number",
  "boolean",
  "null",
  "literal",
  "enum",
  "array",
  "record",
  "optional",
  "nullable",
  "default",
  "unknown",
  "union",
]);
/** Checks the JSON schema says (minimum, maximum, integer, lengths, a regex as a pattern). */
const PLAIN_CHECKS = new Set([
  "greater_than",
  "less_than",
  "number_format",
  "min_length",
  "max_length",
]);

interface Def {
  type: string;
  checks?: { _zod: { def: { check: string; format?: string; pattern?: RegExp } } }[];
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  keyType?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (schema: z.ZodType) => schema._zod.def as unknown as Def;

/** Throws unless zod's output for a valid value is that value (defaults aside). */
function assertPlain(schema: z.ZodType, at: string): void {
  const def = defOf(schema);
  if (!PLAIN_TYPES.has(def.type)) throw new Error(`${at}: a zod ${def.type} has no fast path`);
  for (const check of def.checks ?? []) {
    const { check: kind, format, pattern } = check._zod.def;
    // A regex without flags is a JSON Schema pattern that means the same; other formats
    // (email, url, ...) are zod's own definitions.
    const plainRegex = kind === "string_format" && format === "regex" && pattern?.flags === "";
    if (!PLAIN_CHECKS.has(kind) && !plainRegex) {
      throw new Error(`${at}: a ${format ?? kind} check has no fast path`);
    }
  }
  if (def.type === "record" && def.keyType && defOf(def.keyType).type !== "string") {
    throw new Error(`${at}: a record keyed by anything but strings has no fast path`);
  }
  if (def.type === "union" && def.options?.some((option) => holdsContainer(option))) {
    throw new Error(`${at}: a union of objects or arrays has no fast path`);
  }
  for (const [key, child] of Object.entries(def.shape ?? {})) assertPlain(child, `${at}.${key}`);
  for (const child of [def.element, def.innerType, def.valueType, def.keyType]) {
    if (child) assertPlain(child, `${at}[]`);
  }
  for (const option of def.options ?? []) assertPlain(option, `${at}|`);
}

function holdsContainer(schema: z.ZodType): boolean {
  const def = defOf(schema);
  if (["object", "array", "record", "unknown"].includes(def.type)) return true;
  return [def.innerType, ...(def.options ?? [])].some((child) => child && holdsContainer(child));
}

/** What matches() reads (fast-check.ts); annotations (description, default, $schema) are left out. */
const KEPT = FAST_KEYWORDS;
const ANNOTATIONS = new Set(["description", "default", "$schema", "title", "examples"]);

/** zod's int() bounds: matches() checks an integer is a safe one anyway. */
function isSafeIntegerBound(schema: unknown, key: string, value: unknown): boolean {
  const type = (schema as { type?: unknown }).type;
  const integer = type === "integer" || (Array.isArray(type) && type.includes("integer"));
  return (
    integer &&
    ((key === "minimum" && value === Number.MIN_SAFE_INTEGER) ||
      (key === "maximum" && value === Number.MAX_SAFE_INTEGER))
  );
}

function compact(schema: unknown, at: string): unknown {
  if (typeof schema === "boolean") return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema as object)) {
    if (ANNOTATIONS.has(key) || isSafeIntegerBound(schema, key, value)) continue;
    if (!KEPT.has(key)) throw new Error(`${at}: JSON schema keyword ${key} has no fast path`);
    if (key === "properties") {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, child]) => [
          name,
          compact(child, `${at}.${name}`),
        ]),
      );
    } else if (key === "anyOf") {
      out[key] = (value as unknown[]).map((child) => compact(child, `${at}|`));
    } else if (["items", "additionalProperties", "propertyNames"].includes(key)) {
      out[key] = compact(value, `${at}.${key}`);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The whole generated file, formatted with the repository's prettier settings. */
export async function generateFastSchemas(): Promise<string> {
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(fastSchemaSources()).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    assertPlain(schema, name);
    const json = z.toJSONSchema(schema, { target: "draft-7", io: "output" });
    schemas[name] = compact(json, name);
  }
  const text = `// Generated by scripts/fast-schemas.ts from the zod schemas: do not edit.
// UPDATE_FAST_SCHEMAS=1 npx vitest run test/fast-schemas.test.ts rewrites it.

/** The JSON Schema (draft 7) subset src/shared/fast-check.ts reads. */
export type FastSchema =
  | boolean
  | {
      type?: string | string[];
      const?: unknown;
      enum?: unknown[];
      anyOf?: FastSchema[];
      minimum?: number;
      maximum?: number;
      exclusiveMinimum?: number;
      exclusiveMaximum?: number;
      minLength?: number;
      maxLength?: number;
      pattern?: string;
      items?: FastSchema;
      minItems?: number;
      maxItems?: number;
      properties?: Record<string, FastSchema>;
      required?: string[];
      additionalProperties?: FastSchema;
      propertyNames?: FastSchema;
    };

// One JSON string, parsed on first use (src/shared/fast-check.ts): faster than the same
// object as JavaScript, and nothing at all for a process that never checks (the agent).
export const FAST_SCHEMAS_JSON =
  ${JSON.stringify(JSON.stringify(schemas))};
`;
  const options = await prettier.resolveConfig(FAST_SCHEMAS_FILE);
  return prettier.format(text, { ...options, parser: "typescript" });
}
