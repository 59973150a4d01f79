/** Safe handling of untrusted tar archives: validation, extraction, creation and export. */

export {
  archiveKind,
  createArchive,
  packDirectory,
  type ArchiveKind,
  type CreateArchiveOptions,
} from "./create.js";
export {
  exportPath,
  extractExport,
  type ArtifactType,
  type ExportPathOptions,
  type ExportPathResult,
  type ExtractExportOptions,
  type ExtractExportResult,
} from "./export.js";
export {
  canonicalArchive,
  extractArchive,
  extractPrevalidatedArchive,
  writeCanonicalArchive,
  type ExtractArchiveOptions,
} from "./extract.js";
export { gnuTar, packWithGnuTar, PACK_LISTED } from "./gnu-tar.js";
export {
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_TOTAL_BYTES,
  checkDestination,
  validateArchive,
  type DestinationChecks,
  type ArchiveSummary,
  type ValidateArchiveOptions,
} from "./validate.js";
