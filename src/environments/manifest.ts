import { z } from "zod";

import { checkedSchema } from "../shared/fast-check.js";
import { lazy } from "../shared/lazy.js";

/** A file of an environment entry and what it must hash to. */
const ArtifactSchema = lazy(() =>
  z.object({
    file: z.string().regex(/^[A-Za-z0-9._-]+$/),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
  }),
);
export type Artifact = z.infer<ReturnType<typeof ArtifactSchema>>;

export const MANIFEST_SCHEMA_VERSION = 1;

/**
 * `manifest.json` of a cached environment. Written last, after every artifact is in place
 * and hashed, so an entry without a manifest is by definition incomplete.
 */
export const ManifestSchema = checkedSchema("record:EnvironmentManifest", () =>
  z.object({
    schema_version: z.literal(MANIFEST_SCHEMA_VERSION),
    name: z.string(),
    recipe_version: z.number().int(),
    built_at: z.number(),
    debian_suite: z.string(),
    kernel: ArtifactSchema().extend({ package: z.string(), version: z.string() }),
    initramfs: ArtifactSchema(),
    rootfs: ArtifactSchema().extend({ format: z.literal("ext4") }),
    agent: z.object({
      version: z.string(),
      protocol_version: z.number().int(),
      sha256: z.string(),
    }),
    /** Versions of notable guest packages (nodejs, git, ...), from dpkg. */
    packages: z.record(z.string(), z.string()),
  }),
);
export type EnvironmentManifest = z.infer<ReturnType<typeof ManifestSchema>>;
