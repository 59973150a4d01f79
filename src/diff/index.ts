export type { Tree, TreeEntry, TreeEntryType, TreeFromTarOptions } from "./tree.js";
export { treeFromDirectory, treeFromTar, normalizeTarPath } from "./tree.js";
export type { DiffEntry, DiffStatus, DiffSummary, WorkspaceDiff } from "./diff.js";
export { diffTrees, comparableEntries, decodeText } from "./diff.js";
