/**
 * The SDK's handle API on the host backend (issue 16): the whole walk of
 * test/sdk-handle-flow.ts, plus what only a unit test can pin: disposal after an explicit
 * delete, a structural AbortSignal, and that handles go through the catalogue's validation.
 */

import { describe, expect, it } from "vitest";

import { Pyro, PyroError, type AbortSignalLike } from "../src/index.js";
import { useTempState } from "./helpers.js";
import { walkThroughHandle } from "./sdk-handle-flow.js";

const state = useTempState();

function client(): Pyro {
  return new Pyro({ backend: "host", baseDir: state.stateDir() });
}

describe("the SDK's workspace handles", () => {
  it("create -> exec with streaming -> files -> snapshot -> reset -> diff -> shells -> services -> dispose", async () => {
    const pyro = client();
    await walkThroughHandle(pyro, { allow_host_compat: true }, state.base());
    pyro.close();
  }, 60_000);

  it("disposes quietly after an explicit delete, and once", async () => {
    const pyro = client();
    const ws = await pyro.workspaces.create({ allow_host_compat: true });
    await ws.delete();
    await ws[Symbol.asyncDispose]();
    // A second handle to a workspace deleted elsewhere disposes quietly too.
    const other = await pyro.workspaces.create({ allow_host_compat: true });
    const again = await pyro.workspaces.get(other.id);
    await other.delete();
    await again[Symbol.asyncDispose]();
    await expect(again.delete()).rejects.toMatchObject({ code: "not_found" });
    pyro.close();
  });

  it("cancels exec with any object shaped like an AbortSignal", async () => {
    const pyro = client();
    await using ws = await pyro.workspaces.create({ allow_host_compat: true });
    const listeners = new Set<() => void>();
    const signal: AbortSignalLike & { aborted: boolean } = {
      aborted: false,
      reason: "stop",
      addEventListener: (_type, listener) => listeners.add(listener),
      removeEventListener: (_type, listener) => listeners.delete(listener),
    };
    const run = ws.exec("sleep 30", { signal });
    setTimeout(() => {
      signal.aborted = true;
      for (const listener of listeners) listener();
    }, 300);
    await expect(run).rejects.toMatchObject({ code: "cancelled" });
    // The SDK's listener is gone once the call settled: no leak per call.
    expect(listeners.size).toBe(0);
    const [entry] = (await pyro.logsWorkspace({ workspace_id: ws.id })).entries;
    expect(entry).toMatchObject({ exit_code: 130, cancelled: true });
    pyro.close();
  });

  it("refuses an unknown backend when the client is made, before any runtime loads", () => {
    expect(() => new Pyro({ backend: "kvm" as never })).toThrow(
      "invalid backend 'kvm': expected one of qemu, firecracker, host, mock, auto",
    );
  });

  it("validates through the catalogue: the same field-named errors as the flat methods", async () => {
    const pyro = client();
    await using ws = await pyro.workspaces.create({ allow_host_compat: true });
    const error = await ws
      .exec("true", { timeoutSeconds: "soon" as unknown as number })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PyroError);
    expect(error).toMatchObject({ code: "invalid_argument" });
    expect((error as Error).message).toContain("timeout_seconds");
    await expect(ws.snapshot("../bad")).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(pyro.workspaces.get("no-such-workspace")).rejects.toMatchObject({
      code: "not_found",
    });
    pyro.close();
  });
});
