/**
 * A client sends `tools/list` to its model in every conversation: the workspace-full
 * profile's list (every catalogue operation) must stay within 32 KB, the goal of issue 16
 * (`npm run bench` prints each profile's size next to it). src/mcp/tool-schemas.ts says
 * what is left out of the listed schemas to stay there.
 */
import { afterEach, describe, expect, it } from "vitest";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";

import { useTempState } from "./helpers.js";
import { connectStdio } from "./mcp-client.js";

const GOAL_BYTES = 32 * 1024;
const state = useTempState();
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function listedBytes(profile: string): Promise<number> {
  const { client } = await connectStdio(state.stateDir(), { args: ["--profile", profile] });
  clients.push(client);
  return Buffer.byteLength(JSON.stringify(await client.listTools()));
}

describe("tools/list size", () => {
  it("keeps the workspace-full profile's tools/list within 32 KB", async () => {
    const full = await listedBytes("workspace-full");
    expect(full, `tools/list of workspace-full is ${full} bytes`).toBeLessThanOrEqual(GOAL_BYTES);
    // The smaller profiles list subsets of the same compact tools.
    expect(await listedBytes("workspace-core")).toBeLessThan(full / 2);
  });
});
