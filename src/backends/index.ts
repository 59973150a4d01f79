import { PyroError, ValidationError } from "../errors.js";
import { HostBackend } from "./host/host-backend.js";
import { UnavailableBackend } from "./unavailable.js";
import { BACKEND_NAMES, type Backend, type BackendName } from "./types.js";

export type { Backend, BackendName, RuntimeCapabilities, SandboxSpec } from "./types.js";

/** `mock` is the reference implementation's name for the host backend. */
const ALIASES: Record<string, BackendName> = { mock: "host" };

export function normalizeBackendName(raw: string): BackendName {
  const name = ALIASES[raw] ?? raw;
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new ValidationError(
      `invalid backend '${raw}': expected one of ${[...BACKEND_NAMES, "mock"].join(", ")}`,
      { field: "backend", value: raw },
    );
  }
  return name as BackendName;
}

/**
 * Picks the backend: an explicit name, else $PYRO_BACKEND, else the strongest one this
 * host can run. Guest backends (qemu, firecracker) are not part of this build yet, so the
 * default is the host backend, which fails closed unless the caller opts in to host_compat.
 */
export function resolveBackend(
  requested: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Backend {
  const raw = requested ?? env.PYRO_BACKEND ?? "host";
  const name = normalizeBackendName(raw);
  switch (name) {
    case "host":
      return new HostBackend();
    case "qemu":
    case "firecracker":
      return new UnavailableBackend(
        name,
        `the ${name} backend is not available in this build of pyro`,
      );
    default:
      throw new PyroError("internal", `unhandled backend ${String(name)}`);
  }
}
