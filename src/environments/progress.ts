/** Progress of a long operation (environment pull, create, reset), phase by phase. */
interface ProgressEvent {
  message: string;
  /** Phases done so far, when the total is known. */
  progress?: number;
  total?: number;
}
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
