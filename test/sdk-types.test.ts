/**
 * The SDK's public types are generated from the catalogue (scripts/sdk-types.ts): this test
 * fails when src/sdk/types.generated.ts is stale. After changing a catalogue schema, run
 * `UPDATE_TYPES=1 npx vitest run test/sdk-types.test.ts` to rewrite it.
 */
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { GENERATED_TYPES_FILE, generateSdkTypes } from "../scripts/sdk-types.js";

const file = path.resolve(import.meta.dirname, "..", GENERATED_TYPES_FILE);

describe("the SDK's generated types", () => {
  it("match the catalogue's schemas (UPDATE_TYPES=1 rewrites them)", async () => {
    const generated = await generateSdkTypes();
    if (process.env.UPDATE_TYPES === "1") fs.writeFileSync(file, generated);
    expect(
      fs.readFileSync(file, "utf8") === generated,
      `${GENERATED_TYPES_FILE} is stale: run UPDATE_TYPES=1 npx vitest run test/sdk-types.test.ts`,
    ).toBe(true);
  }, 60_000);
});
