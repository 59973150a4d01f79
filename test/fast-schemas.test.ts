/**
 * The zod-free happy path (src/shared/fast-check.ts): its JSON schemas are generated from
 * the zod schemas (scripts/fast-schemas.ts; this test fails when the checked-in file is
 * stale, `UPDATE_FAST_SCHEMAS=1 npx vitest run test/fast-schemas.test.ts` rewrites it), and
 * whatever they accept, zod accepts too and returns unchanged. Samples are made from each
 * JSON schema (every field, then only the required ones), then broken one field at a time
 * (a wrong type, a value out of range, a field missing, an unknown field): the fast check
 * may refuse a value zod takes (zod then decides), never the other way round, and it agrees
 * with ajv, a full JSON Schema implementation, on every sample.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { z } from "zod";

import {
  FAST_SCHEMAS_FILE,
  fastSchemaSources,
  generateFastSchemas,
} from "../scripts/fast-schemas.js";
import { ValidationError } from "../src/errors.js";
import { findOperation } from "../src/operations/catalog.js";
import { parseInput } from "../src/operations/define.js";
import { fastAccepts, fastSchemas, matches } from "../src/shared/fast-check.js";
import type { FastSchema } from "../src/shared/fast-schemas.generated.js";
import { WorkspaceRecordSchema, readRecord } from "../src/store/records.js";

import { expectGenerated } from "./helpers.js";

type Json = Exclude<FastSchema, boolean>;

/** A valid value of `schema`: every property (`all`) or only the required ones. */
function sample(schema: FastSchema, all: boolean): unknown {
  if (typeof schema === "boolean") return "anything";
  if ("const" in schema) return schema.const;
  if (schema.enum) return schema.enum[schema.enum.length - 1];
  if (schema.anyOf) return sample(schema.anyOf[0] ?? true, all);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string": {
      if (schema.pattern === undefined) return "v".repeat(Math.max(1, schema.minLength ?? 1));
      const pattern = new RegExp(schema.pattern);
      return ["v", "0".repeat(64)].find((text) => pattern.test(text));
    }
    case "integer":
    case "number": {
      const low = schema.minimum ?? (schema.exclusiveMinimum ?? 0) + 1;
      return Math.min(low, schema.maximum ?? Infinity);
    }
    case "boolean":
      return true;
    case "null":
      return null;
    case "array":
      return schema.items ? [sample(schema.items, all)] : [];
    case "object": {
      const keys = Object.keys(schema.properties ?? {}).filter(
        (key) => all || schema.required?.includes(key),
      );
      const value = Object.fromEntries(
        keys.map((key) => [key, sample(schema.properties?.[key] ?? true, all)]),
      );
      if (keys.length === 0 && typeof schema.additionalProperties === "object") {
        return { key: sample(schema.additionalProperties, all) };
      }
      return value;
    }
    default:
      return {};
  }
}

/** Values of `value` with one field broken, at every depth. */
function broken(schema: FastSchema, value: unknown): unknown[] {
  const out: unknown[] = [undefined, null, "text", -1, 1.5, 2 ** 60, [], {}, true];
  if (typeof schema === "boolean" || typeof value !== "object" || value === null) return out;
  if (Array.isArray(value)) {
    const items = (schema as Json).items;
    if (items) for (const wrong of broken(items, value[0])) out.push([wrong]);
    return out;
  }
  const object = value as Record<string, unknown>;
  const properties = (schema as Json).properties ?? {};
  out.push({ ...object, unknown_field: 1 });
  for (const key of Object.keys(object)) {
    const { [key]: _dropped, ...without } = object;
    out.push(without);
    for (const wrong of broken(properties[key] ?? true, object[key])) {
      out.push({ ...object, [key]: wrong });
    }
  }
  return out;
}

const sources = fastSchemaSources();
// Patterns without the u flag, as zod tests its regexes.
const ajv = new Ajv({ strict: false, unicodeRegExp: false });

describe("the generated JSON schemas of the zod-free happy path", () => {
  it("match the zod schemas (UPDATE_FAST_SCHEMAS=1 rewrites them)", async () => {
    expectGenerated(FAST_SCHEMAS_FILE, await generateFastSchemas(), {
      update: "UPDATE_FAST_SCHEMAS",
      test: "test/fast-schemas.test.ts",
    });
    // The read path's own: the records, the read-only operations' input, the agent's answers.
    for (const name of [
      "record:WorkspaceRecord",
      "record:CommandLogEntry",
      "input:workspace_status",
      "input:workspace_logs",
      "agent:command.list",
      "record:EnvironmentManifest",
    ]) {
      expect(Object.keys(fastSchemas())).toContain(name);
    }
  });

  it("accept only what zod accepts, and zod returns it unchanged", () => {
    let accepted = 0;
    let refused = 0;
    for (const [name, schema] of Object.entries(fastSchemas())) {
      const zod = sources[name] as z.ZodType;
      // zod's own JSON schema, before the generator compacted it.
      const validate = ajv.compile(z.toJSONSchema(zod, { target: "draft-7", io: "output" }));
      const valid = [sample(schema, true), sample(schema, false)];
      for (const value of valid) {
        expect(fastAccepts(name, value), `${name}: ${JSON.stringify(value)}`).toBe(true);
        expect(zod.safeParse(value)).toEqual({ success: true, data: value });
      }
      for (const value of [...valid, ...valid.flatMap((value) => broken(schema, value))]) {
        const fast = matches(schema, value);
        // ajv counts a string's length in code points, zod and matches() in UTF-16 units:
        // the samples hold no astral characters, so the two agree.
        expect(fast, `${name} vs ajv: ${JSON.stringify(value)}`).toBe(validate(value));
        if (fast) {
          accepted += 1;
          expect(zod.safeParse(value), `${name}: ${JSON.stringify(value)}`).toEqual({
            success: true,
            data: value,
          });
        } else {
          refused += 1;
        }
      }
    }
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(1000);
  });

  it("refuses what zod would change or cannot say in JSON, leaving it to zod", () => {
    expect(matches({ type: "object", properties: {} }, new Date())).toBe(false);
    expect(matches({ type: "number" }, Number.NaN)).toBe(false);
    expect(matches({ type: "integer" }, 2 ** 53)).toBe(false);
    expect(matches({ type: "string", format: "email" } as Json, "a@b.c")).toBe(false);
    expect(fastAccepts("record:NoSuchRecord", {})).toBe(false);
  });

  it("leaves defaults to zod: a record written before a field with a default gets it filled in", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-fast-"));
    try {
      const record = sample(fastSchemas()["record:WorkspaceRecord"] ?? false, false) as Record<
        string,
        unknown
      >;
      const { secrets: _secrets, ...before } = record;
      const file = path.join(dir, "workspace.json");
      fs.writeFileSync(file, JSON.stringify(before));
      expect(fastAccepts("record:WorkspaceRecord", before)).toBe(false);
      expect(await readRecord(file, WorkspaceRecordSchema)).toEqual({ ...before, secrets: [] });
      // An unknown field: zod drops it.
      fs.writeFileSync(file, JSON.stringify({ ...record, later_field: 1 }));
      expect(await readRecord(file, WorkspaceRecordSchema)).toEqual(record);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives an operation's input as zod does, and zod's error for anything it refuses", () => {
    const logs = findOperation("workspace_logs")!;
    const input = { workspace_id: "w1", tail: 5 };
    const parsed = parseInput(logs, input);
    expect(parsed).toEqual(input);
    expect(parsed).not.toBe(input); // a copy, as zod's result is
    const refused = (() => {
      try {
        return parseInput(logs, { workspace_id: "w1", tail: -1 });
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(ValidationError);
    expect(refused).toMatchObject({
      message: "tail must be between 0 and 10000, got -1",
      details: { field: "tail", value: -1 },
    });
    expect(() => parseInput(logs, { workspace_id: 7 })).toThrow(/workspace_logs: workspace_id: /);
  });
});
