import { ValidationError } from "../errors.js";
import type { EnvironmentName } from "../environments/catalog.js";
import { EnvironmentStore } from "../environments/store.js";
import { HostBackend } from "./host/host-backend.js";
import { findQemu } from "./qemu/detect.js";
import { QemuBackend } from "./qemu/qemu-backend.js";
import { UnavailableBackend } from "./unavailable.js";
import { BACKEND_NAMES, type Backend, type BackendName } from "./types.js";

export type { Backend, SandboxSpec } from "./types.js";

/** `mock` is the reference implementation's name for the host backend. */
const ALIASES: Record<string, BackendName> = { mock: "host" };

function normalizeBackendName(raw: string): BackendName {
  const name = ALIASES[raw] ?? raw;
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new ValidationError(
      `invalid backend '${raw}': expected one of ${[...BACKEND_NAMES, "mock"].join(", ")}`,
      { field: "backend", value: raw },
    );
  }
  return name as BackendName;
}

/** An explicit backend, else `$PYRO_BACKEND`, else `auto` (decided per sandbox). */
type BackendSelection = BackendName | "auto";

export function backendSelection(
  requested: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): BackendSelection {
  const raw = requested ?? (env.PYRO_BACKEND || undefined);
  return raw === undefined || raw === "auto" ? "auto" : normalizeBackendName(raw);
}

export interface BackendChoice {
  backend: Backend;
  /** Why `auto` did not pick a guest backend (null when it did, or when one was asked for). */
  noGuestReason: string | null;
  /** The same, as a stable token for next-step hints (details.reason of guest_unavailable). */
  noGuestCause?: "qemu_missing" | "environment_not_pulled";
}

/**
 * One instance per backend name. A sandbox is always driven by the backend named in its
 * record, whatever this process would pick for new ones, so a workspace made by a qemu
 * manager is stopped by qemu even from a process that defaults to host.
 */
export class BackendRegistry {
  private readonly instances = new Map<BackendName, Backend>();
  readonly environments: EnvironmentStore;

  constructor(
    readonly selection: BackendSelection,
    readonly environmentCacheDir: string,
  ) {
    this.environments = new EnvironmentStore(environmentCacheDir);
  }

  get(raw: string): Backend {
    const name = normalizeBackendName(raw);
    let backend = this.instances.get(name);
    if (!backend) {
      backend = create(name, this.environmentCacheDir);
      this.instances.set(name, backend);
    }
    return backend;
  }

  /**
   * The backend for a new sandbox. `auto` takes the strongest isolation that can boot this
   * environment: qemu when it is installed and the environment is pulled, else host (which
   * still refuses to run anything without allow_host_compat).
   */
  async choose(environment: EnvironmentName): Promise<BackendChoice> {
    if (this.selection !== "auto")
      return { backend: this.get(this.selection), noGuestReason: null };
    if (!findQemu()) {
      return {
        backend: this.get("host"),
        noGuestReason: "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)",
        noGuestCause: "qemu_missing",
      };
    }
    const check = await this.environments.check(environment, { full: false });
    if (check.status !== "installed") {
      return {
        backend: this.get("host"),
        noGuestReason: `environment ${environment} is ${check.status === "missing" ? "not pulled" : check.status} (run \`pyro env pull ${environment}\`)`,
        noGuestCause: "environment_not_pulled",
      };
    }
    return { backend: this.get("qemu"), noGuestReason: null };
  }
}

function create(name: BackendName, environmentCacheDir: string): Backend {
  switch (name) {
    case "host":
      return new HostBackend();
    case "qemu":
      return new QemuBackend(environmentCacheDir);
    case "firecracker":
      return new UnavailableBackend(
        name,
        "the firecracker backend is not part of this release (it needs an uncompressed kernel with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES and vsock); use qemu",
      );
  }
}
