/**
 * The SDK's public types are generated from the catalogue (scripts/sdk-types.ts): this test
 * fails when src/sdk/types.generated.ts is stale. After changing a catalogue schema, run
 * `UPDATE_TYPES=1 npx vitest run test/sdk-types.test.ts` to rewrite it.
 */
import { describe, it } from "vitest";

import type { z } from "zod";

import { GENERATED_TYPES_FILE, generateSdkTypes } from "../scripts/sdk-types.js";
import type { PyroInput, PyroResult } from "../src/index.js";
import type { CatalogueOperation } from "../src/runtime.js";

import { expectGenerated } from "./helpers.js";

describe("the SDK's generated types", () => {
  it("match the catalogue's schemas (UPDATE_TYPES=1 rewrites them)", async () => {
    expectGenerated(GENERATED_TYPES_FILE, await generateSdkTypes(), {
      update: "UPDATE_TYPES",
      test: "test/sdk-types.test.ts",
    });
  }, 60_000);
});

// Compile-time: each generated interface accepts what the zod schema accepts and the other
// way round (input), and a handler's result fits the generated result type (output). A
// generator mistake (a required field made optional, a lost union member) fails typecheck.
type Mutual<A, B> = [Empty<A>] extends [Empty<B>]
  ? [Empty<B>] extends [Empty<A>]
    ? true
    : false
  : false;
/** An operation without input: zod says Record<string, never>, the generated interface {}. */
type Empty<T> = [keyof T] extends [never]
  ? object
  : string extends keyof T
    ? [T[string & keyof T]] extends [never]
      ? object
      : T
    : T;
type Mismatched = {
  [Op in CatalogueOperation as Op["name"]]: Mutual<
    z.input<Op["input"]>,
    PyroInput<Op["name"]>
  > extends true
    ? Mutual<z.output<Op["output"]>, PyroResult<Op["name"]>> extends true
      ? never
      : "output"
    : "input";
};
type Problems = {
  [Name in keyof Mismatched as Mismatched[Name] extends never ? never : Name]: Mismatched[Name];
};
export const generatedTypesMatchTheSchemas: Problems = {};
