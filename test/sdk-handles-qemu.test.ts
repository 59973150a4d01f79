/**
 * The SDK's handle API on a real guest (issue 16): the walk of test/sdk-handle-flow.ts on
 * the qemu backend, in one workspace (its create and its reset are the only boots). Skipped
 * where qemu or the debian:12 environment is missing; run under the guest lock.
 */
import { describe, expect, it } from "vitest";

import { Pyro } from "../src/index.js";
import { qemuProcessesUnder, qemuUnavailableReason } from "./guest-helpers.js";
import { useTempState } from "./helpers.js";
import { walkThroughHandle } from "./sdk-handle-flow.js";

describe("qemu backend: the SDK's workspace handle", () => {
  const state = useTempState();

  it(
    "create -> exec with streaming -> files -> snapshot -> reset -> diff -> shells -> services -> dispose",
    { timeout: 600_000 },
    async ({ skip }) => {
      const reason = await qemuUnavailableReason();
      if (reason) skip(reason);
      const pyro = new Pyro({ backend: "qemu", baseDir: state.stateDir() });
      await walkThroughHandle(pyro, { environment: "debian:12" }, state.base());
      pyro.close();
      // Disposal deleted the workspace: no guest is left running.
      expect(qemuProcessesUnder(state.base())).toEqual([]);
    },
  );
});
