import type { ProgressEvent } from "../shared/progress.js";

export type ProgressListener = (event: ProgressEvent) => void;

/** Numbers phases as they start: "[3/8] building initramfs". */
export function phaseReporter(
  total: number,
  listener: ProgressListener | undefined,
): (message: string) => void {
  let done = 0;
  return (message) => {
    listener?.({ message, progress: done, total });
    done += 1;
  };
}
