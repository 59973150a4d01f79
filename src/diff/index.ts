export type { Tree, TreeEntry } from "./tree.js";
export { treeFromTar, normalizeTarPath } from "./tree.js";
export type { WorkspaceDiff } from "./diff.js";
export { diffManifests, MAX_PATCH_FILE_BYTES } from "./diff.js";
export type { DigestCache, Manifest } from "./manifest.js";
export {
  manifestFromDirectory,
  manifestFromTar,
  readTarFiles,
  encodeManifest,
  decodeManifest,
} from "./manifest.js";
