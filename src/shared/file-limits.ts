/**
 * Bounds of the file operations (workspace_file_*, workspace_patch_apply, workspace_disk_*),
 * shared by the host, which checks input before it travels, and the agent, which checks
 * again: a file read or written whole through one protocol frame must stay far below the
 * 16 MiB frame limit, and a listing or a read goes into a model's context.
 */
export const FILE_LIMITS = {
  /** Entries a listing returns at most; past it the result says `truncated`. */
  listEntries: 1000,
  /** file_read / disk_read: bytes returned when max_bytes is not given. */
  readDefaultBytes: 65_536,
  /** file_read / disk_read: the largest max_bytes. */
  readMaxBytes: 1_048_576,
  /** file_write: the largest content, in bytes after decoding. */
  writeMaxBytes: 4_194_304,
  /** patch_apply: the largest patch text, in bytes. */
  patchMaxBytes: 1_048_576,
  /** patch_apply: the most files one patch may touch. */
  patchMaxFiles: 256,
  /** patch_apply: the largest file a patch may change (it is read whole). */
  patchMaxFileBytes: 4_194_304,
} as const;

/** Permission bits as written in input and output: three or four octal digits. */
export const OCTAL_MODE = /^[0-7]{3,4}$/;

/** `0644`-style text for permission bits (with setuid, setgid and sticky). */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}
