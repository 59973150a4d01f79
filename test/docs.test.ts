import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import prettier from "prettier";
import { describe, expect, it } from "vitest";

import { BEGIN, END, renderReference } from "../scripts/contract-reference.js";
import { operations } from "../src/operations/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const contract = path.join(root, "docs", "contract.md");

describe("docs/contract.md", () => {
  it("has the per-operation reference generated from the catalogue (UPDATE_DOCS=1 rewrites it)", async () => {
    const current = fs.readFileSync(contract, "utf8");
    const start = current.indexOf(BEGIN);
    const end = current.indexOf(END);
    expect(start, "generated-section markers").toBeGreaterThan(0);
    const regenerated = await prettier.format(
      current.slice(0, start) + renderReference(operations) + current.slice(end + END.length),
      { ...(await prettier.resolveConfig(contract)), filepath: contract },
    );
    if (process.env.UPDATE_DOCS === "1") fs.writeFileSync(contract, regenerated);
    expect(current).toBe(regenerated);
  });

  it("names every MCP tool in the CLI, SDK and MCP docs", () => {
    const docs = ["contract.md", "mcp.md"].map((file) =>
      fs.readFileSync(path.join(root, "docs", file), "utf8"),
    );
    for (const operation of operations) {
      for (const doc of docs) expect(doc).toContain(operation.name);
    }
    const sdk = fs.readFileSync(path.join(root, "docs", "sdk.md"), "utf8");
    for (const operation of operations) expect(sdk).toContain(operation.method);
  });
});
