/**
 * A cached environment is rebuilt only when RECIPE_VERSION changes, so whatever goes into an
 * image (packages, kernel modules, the initramfs and guest init scripts) must not change
 * without a bump: a machine would keep booting its stale image. This pins a digest of those
 * inputs per recipe version; changing them fails here until the version is bumped and the
 * new digest recorded.
 */
import { createHash } from "node:crypto";

import { describe, expect, it } from "vitest";

import {
  AGENT_PORT_NAME,
  DEBIAN_SUITE,
  INITRAMFS_MODULES,
  KERNEL_META_PACKAGE,
  RECIPES,
  RECIPE_VERSION,
} from "../src/environments/catalog.js";
import {
  GUEST_AGENT_DIR,
  GUEST_INIT,
  GUEST_INIT_FILE,
  INITRAMFS_INIT,
} from "../src/environments/guest-boot-files.js";

const PINNED: Record<number, string> = {
  3: "0a98df0e4083cdd38e1aa0577ddcc0fa7733163e76544d1bd70319e7c05cd96b",
  4: "31b503bf1d233f2c7af9fb377e50efa8af40c02f344b5f4eab8a3980dd8a1e77",
};

describe("environment recipe", () => {
  it("bumps RECIPE_VERSION whenever what goes into an image changes", () => {
    const inputs = JSON.stringify({
      RECIPES,
      INITRAMFS_MODULES,
      KERNEL_META_PACKAGE,
      DEBIAN_SUITE,
      AGENT_PORT_NAME,
      GUEST_AGENT_DIR,
      GUEST_INIT_FILE,
      GUEST_INIT,
      INITRAMFS_INIT,
    });
    const digest = createHash("sha256").update(inputs).digest("hex");
    expect(
      digest,
      `the image's inputs changed: bump RECIPE_VERSION (now ${RECIPE_VERSION}) in src/environments/catalog.ts and pin ${digest} for it here`,
    ).toBe(PINNED[RECIPE_VERSION]);
  });
});
