import { PyroError } from "../errors.js";
import type { RuntimeRecord } from "../store/records.js";
import type { Backend, BackendName, RuntimeCapabilities } from "./types.js";

/**
 * A named backend that cannot boot on this host or in this build. It exists so that
 * asking for it by name gives a clear, fail-closed error instead of "invalid backend".
 */
export class UnavailableBackend implements Backend {
  readonly executionMode = "unavailable";
  readonly compressesTransfers = false;

  constructor(
    readonly name: BackendName,
    private readonly reason: string,
  ) {}

  capabilities(): RuntimeCapabilities {
    return { vm_boot: false, guest_exec: false, guest_network: false, reason: this.reason };
  }

  async boot(): Promise<RuntimeRecord> {
    throw new PyroError("guest_unavailable", `guest boot is unavailable: ${this.reason}`, {
      backend: this.name,
      reason: "backend_unavailable",
    });
  }

  isAlive(): boolean {
    return false;
  }

  isSuspended(): boolean {
    return false;
  }

  async deathReason(): Promise<string | null> {
    return null;
  }

  async destroy(): Promise<void> {}

  async halt(): Promise<void> {}

  async sweepOrphan(): Promise<void> {}
}
