/**
 * zod's happy path without zod. Importing zod (about 400 KB) cost a read-only CLI call
 * most of its start-up (docs/cli.md, "Start-up time"), for checks that nearly always pass:
 * the call's input, the records it reads, the agent's answers. Each of those schemas also
 * exists as plain JSON schema data, generated from the zod schema itself
 * (fast-schemas.generated.ts, by test/fast-schemas.test.ts: one source of truth, the zod
 * schema). A value the JSON schema accepts is returned as it is; anything else goes to
 * zod, which accepts it (filling a default, dropping an unknown key) or words the error.
 *
 * Only schemas whose zod output equals their input when valid are generated: the JSON
 * schema is zod's *output* side, so a field with a default is required (absent, zod fills
 * it in), an object is closed unless zod's passes unknown keys through (an unknown key:
 * zod drops it), and a schema with a refinement or a transform cannot be generated (the
 * test refuses it). The checker below knows a small set of keywords; any other makes it
 * answer "no", which is always safe: zod decides.
 */
import type { z } from "zod";

import { FAST_SCHEMAS_JSON, type FastSchema } from "./fast-schemas.generated.js";
import { lazy } from "./lazy.js";

/** A zod schema built on first use, with the name of its generated JSON schema. */
export interface CheckedSchema<Schema extends z.ZodType> {
  (): Schema;
  readonly fastName: string;
}

/** `build()` on first use (src/shared/lazy.ts), checked by its generated JSON schema first. */
export function checkedSchema<Schema extends z.ZodType>(
  fastName: string,
  build: () => Schema,
): CheckedSchema<Schema> {
  return Object.assign(lazy(build), { fastName });
}

/** A schema as readRecord and the agent client take it: built on first use, maybe checked. */
export type LazySchema<Output> = (() => z.ZodType<Output>) & { readonly fastName?: string };

/** The generated JSON schemas by name, parsed on first use. */
export const fastSchemas = lazy(
  () => JSON.parse(FAST_SCHEMAS_JSON) as Readonly<Record<string, FastSchema>>,
);

/** Whether the generated JSON schema `name` accepts `value` (false when there is none). */
export function fastAccepts(name: string | undefined, value: unknown): boolean {
  const schema = name === undefined ? undefined : fastSchemas()[name];
  return schema !== undefined && matches(schema, value);
}

/**
 * zod's safeParse of `raw`, through the generated JSON schema first. The fast path returns
 * `raw` itself: pass a value nobody else holds (parsed JSON), or copy it.
 */
export function safeParse<Output>(
  schema: LazySchema<Output>,
  raw: unknown,
): z.ZodSafeParseResult<Output> {
  if (fastAccepts(schema.fastName, raw)) return { success: true, data: raw as Output };
  return schema().safeParse(raw);
}

/** A plain object: zod takes any other object (a Date, a class) too, and decides about it. */
function isObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return Number.isSafeInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      return false;
  }
}

/**
 * The keywords `matches` knows; a schema with any other is never matched (the generator,
 * scripts/fast-schemas.ts, refuses to emit any other).
 */
export const FAST_KEYWORDS: ReadonlySet<string> = new Set([
  "type",
  "const",
  "enum",
  "anyOf",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "items",
  "minItems",
  "maxItems",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
]);

/** JSON Schema (draft 7) validation of the keywords in FAST_KEYWORDS; false for any other. */
export function matches(schema: FastSchema, value: unknown): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  for (const key of Object.keys(schema)) if (!FAST_KEYWORDS.has(key)) return false;
  const { type } = schema;
  if (type !== undefined && !(Array.isArray(type) ? type : [type]).some((t) => hasType(t, value)))
    return false;
  if ("const" in schema && value !== schema.const) return false;
  if (schema.enum !== undefined && !schema.enum.includes(value as never)) return false;
  if (schema.anyOf !== undefined && !schema.anyOf.some((branch) => matches(branch, value)))
    return false;
  if (typeof value === "number" && !numberMatches(schema, value)) return false;
  if (typeof value === "string" && !stringMatches(schema, value)) return false;
  if (Array.isArray(value) && !arrayMatches(schema, value)) return false;
  if (isObject(value) && !objectMatches(schema, value)) return false;
  return true;
}

type SchemaObject = Exclude<FastSchema, boolean>;

function numberMatches(schema: SchemaObject, value: number): boolean {
  return !(
    (schema.minimum !== undefined && value < schema.minimum) ||
    (schema.maximum !== undefined && value > schema.maximum) ||
    (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) ||
    (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum)
  );
}

const patterns = new Map<string, RegExp>();

/**
 * Lengths count UTF-16 units, as zod's do (JSON Schema counts code points); a pattern is
 * zod's regex without flags (the generator refuses one with flags), tested as zod does.
 */
function stringMatches(schema: SchemaObject, value: string): boolean {
  if (schema.minLength !== undefined && value.length < schema.minLength) return false;
  if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
  if (schema.pattern === undefined) return true;
  let pattern = patterns.get(schema.pattern);
  if (!pattern) patterns.set(schema.pattern, (pattern = new RegExp(schema.pattern)));
  return pattern.test(value);
}

function arrayMatches(schema: SchemaObject, value: unknown[]): boolean {
  if (schema.minItems !== undefined && value.length < schema.minItems) return false;
  if (schema.maxItems !== undefined && value.length > schema.maxItems) return false;
  const { items } = schema;
  return items === undefined || value.every((item) => matches(items, item));
}

function objectMatches(schema: SchemaObject, value: Record<string, unknown>): boolean {
  const properties = schema.properties ?? {};
  // Present with the value undefined counts as absent (zod fills a default in for it).
  if (schema.required?.some((key) => value[key] === undefined)) return false;
  for (const [key, item] of Object.entries(value)) {
    if (schema.propertyNames !== undefined && !matches(schema.propertyNames, key)) return false;
    const own = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (own !== undefined) {
      if (item !== undefined && !matches(own, item)) return false;
    } else if (schema.additionalProperties !== undefined) {
      if (!matches(schema.additionalProperties, item)) return false;
    }
  }
  return true;
}
