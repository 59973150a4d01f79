import { afterAll, beforeAll } from "vitest";

/**
 * Extraction and packing use GNU tar where the system has it and node-tar otherwise
 * (src/archive/gnu-tar.ts); the archive tests run against both.
 */
export const TAR_MODES = [{ tar: "gnu" }, { tar: "builtin" }];

/** Selects the tar implementation for the enclosing describe block, restoring it after. */
export function useTarMode(mode: string): void {
  const saved = process.env.PYRO_AGENT_TAR;
  beforeAll(() => {
    if (mode === "builtin") process.env.PYRO_AGENT_TAR = "builtin";
    else delete process.env.PYRO_AGENT_TAR;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.PYRO_AGENT_TAR;
    else process.env.PYRO_AGENT_TAR = saved;
  });
}
