import type { ProgressEvent } from "../shared/progress.js";

/** Optional trailing argument of the long manager operations. */
export interface ProgressOptions {
  onProgress?: (event: ProgressEvent) => void;
}

/** Reports a step; a listener that throws must not break the operation it watches. */
export function reportProgress(
  options: ProgressOptions | undefined,
  message: string,
  progress?: number,
  total?: number,
): void {
  try {
    options?.onProgress?.({ message, progress, total });
  } catch {
    // progress is advisory
  }
}
