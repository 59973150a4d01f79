/** Helpers of the real-guest tier: is qemu usable here, and which qemu processes remain. */
import fs from "node:fs";

import { findQemu } from "../src/backends/qemu/detect.js";
import type { EnvironmentName } from "../src/environments/catalog.js";
import { EnvironmentStore } from "../src/environments/store.js";
import { defaultEnvironmentCacheDir } from "../src/store/layout.js";

/** Why the real-guest tier cannot run here with `environment` (null: it can). */
export async function qemuUnavailableReason(
  environment: EnvironmentName = "debian:12",
): Promise<string | null> {
  if (!findQemu()) return "qemu-system-x86_64 is not installed";
  const store = new EnvironmentStore(defaultEnvironmentCacheDir());
  const check = await store.check(environment, { full: false });
  return check.status === "installed" ? null : `environment ${environment} is ${check.status}`;
}

/** qemu processes whose command line mentions `needle` (a test's state dir). */
export function qemuProcessesUnder(needle: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.startsWith("qemu-system") || cmdline.includes("/qemu-system")) {
        if (cmdline.includes(needle)) found.push(Number(entry));
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
