/**
 * What `tools/list` shows of a catalogue operation: its title, annotations and JSON schemas.
 * A client sends the whole list to its model in every conversation, so it is kept small
 * (the workspace-full profile under 32 KB: test/mcp-tools-size.test.ts, `npm run bench`):
 *
 * - input schemas are the catalogue's exact ones (ranges, defaults, enums, required fields),
 *   minus what says nothing: the dialect URI (MCP's default dialect, JSON Schema 2020-12, is
 *   the one they are written in), `propertyNames: {type: "string"}` of every map, and the
 *   top level's `additionalProperties: false` (an unknown field is refused by name);
 * - output schemas name, as `required`, only the fields a model uses to make its next call
 *   (ids, names, state, exit status, cursors and paging, lists) but not those the call's
 *   required input gave (a result without any such field is named whole). The result's
 *   types and every other field are in the catalogue's full, closed output schemas
 *   (docs/contract.md, the SDK's types), which test/mcp.test.ts checks every tool's results
 *   against; the listed ones are open, so a client validating against them accepts every
 *   result.
 */
import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

import type { AnyOperation } from "../operations/index.js";

type JsonSchema = { [key: string]: unknown };

/** MCP tool annotations from the catalogue's effect and idempotence (src/operations/define.ts). */
export function toolAnnotations(operation: AnyOperation): ToolAnnotations {
  // Sandboxes reach the network only under a workspace's network policy (docs/mcp.md), and
  // no tool talks to anything outside pyro itself: the world the tools touch is closed.
  if (operation.effect === "read") return { readOnlyHint: true, openWorldHint: false };
  return {
    destructiveHint: operation.effect === "destructive",
    ...(operation.idempotent ? { idempotentHint: true } : {}),
    openWorldHint: false,
  };
}

/** The schema handed to the MCP SDK: any object passes, `json` is what tools/list shows. */
function advertised(json: JsonSchema): z.ZodObject {
  // The SDK lists z.toJSONSchema of this: meta() replaces each key of the empty object's
  // schema, and an undefined $schema leaves the key out of the JSON sent.
  const empty = { $schema: undefined, properties: undefined, additionalProperties: undefined };
  return z.looseObject({}).meta({ ...empty, ...json });
}

/**
 * The input schema as listed. The SDK lets any object through to the handler, because the
 * catalogue validates the input itself: a bad value gets the same message and error code
 * over MCP as from the SDK and the CLI, instead of the SDK's generic "Invalid arguments".
 * A profile's narrowed schema lacks the fields it hides (they are refused, see checkOmitted).
 */
export function advertisedInput(operation: AnyOperation, omitted: readonly string[]): z.ZodObject {
  const key = `${operation.name}\0${omitted.join(",")}`;
  let schema = inputs.get(key);
  if (!schema) {
    const kept = Object.entries(operation.input.shape).filter(
      ([field]) => !omitted.includes(field),
    );
    const input = omitted.length > 0 ? z.strictObject(Object.fromEntries(kept)) : operation.input;
    // Unknown fields are refused with a message naming them; saying so in every tool's
    // schema would cost 1.4 KB of the list.
    const { additionalProperties: _closed, ...json } = compact(
      z.toJSONSchema(input, { io: "input" }) as JsonSchema,
    );
    schema = advertised(json);
    inputs.set(key, schema);
  }
  return schema;
}
/** Built once per operation and profile: the HTTP transport creates a server per request. */
const inputs = new Map<string, z.ZodObject>();

/** Top-level result fields a model needs to go on, besides every `*_id(s)` and `*_name`. */
const KEY_FIELDS = new Set([
  ...["name", "state", "exit_code", "truncated", "has_more", "changed"],
  // What a listing lists.
  ...["entries", "environments", "snapshots", "services", "commands", "workspaces"],
]);

function isKeyField(name: string): boolean {
  return KEY_FIELDS.has(name) || /_(ids?|name)$/.test(name) || name.startsWith("next_");
}

/** The output schema as listed: the key fields, named as required (see the top). */
export function advertisedOutput(operation: AnyOperation): z.ZodObject {
  let schema = outputs.get(operation.name);
  if (!schema) {
    const full = z.toJSONSchema(operation.output, { io: "output" }) as JsonSchema;
    // What the caller gave (the workspace_id of most calls) it knows already.
    const given = new Set(
      Object.entries(operation.input.shape)
        .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
        .map(([name]) => name),
    );
    const fresh = Object.entries((full.properties ?? {}) as Record<string, JsonSchema>).filter(
      ([name]) => !given.has(name),
    );
    const key = fresh.filter(([name]) => isKeyField(name));
    // A small result with no key field (a deletion, an export) is listed whole.
    const names = (key.length > 0 ? key : fresh).map(([name]) => name);
    schema = advertised({ type: "object", required: names });
    outputs.set(operation.name, schema);
  }
  return schema;
}
const outputs = new Map<string, z.ZodObject>();

/** Drops what says nothing (see the top); a nullable field becomes `type: [T, "null"]`. */
function compact(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema") continue;
    if (key === "propertyNames" && isStringType(value)) continue;
    // intAtLeast's upper bound is only zod's safe-integer one.
    if (key === "maximum" && value === Number.MAX_SAFE_INTEGER) continue;
    out[key] = compactValue(value);
  }
  const anyOf = out.anyOf;
  if (Array.isArray(anyOf) && anyOf.length === 2) {
    const [first, second] = anyOf as JsonSchema[];
    if (isNullType(second) && typeof first?.type === "string" && first.enum === undefined) {
      delete out.anyOf;
      return { ...first, ...out, type: [first.type, "null"] };
    }
  }
  return out;
}

function compactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compactValue);
  if (typeof value === "object" && value !== null) return compact(value as JsonSchema);
  return value;
}

function isStringType(value: unknown): boolean {
  return JSON.stringify(value) === '{"type":"string"}';
}

function isNullType(value: unknown): boolean {
  return JSON.stringify(value) === '{"type":"null"}';
}
