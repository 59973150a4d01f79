export type { Tree, TreeEntry, TreeEntryType, TreeFromTarOptions } from "./tree.js";
export { treeFromDirectory, treeFromTar, normalizeTarPath } from "./tree.js";
export type { DiffEntry, DiffStatus, DiffSummary, WorkspaceDiff } from "./diff.js";
export {
  diffTrees,
  diffManifests,
  comparableEntries,
  decodeText,
  textPatch,
  MAX_PATCH_FILE_BYTES,
} from "./diff.js";
export type { ContentLoader } from "./diff.js";
export type { DigestCache, Manifest, ManifestEntry } from "./manifest.js";
export {
  manifestFromTree,
  manifestFromDirectory,
  manifestFromTar,
  readTarFiles,
  encodeManifest,
  encodeManifestLine,
  decodeManifest,
} from "./manifest.js";
