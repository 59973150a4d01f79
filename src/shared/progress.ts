/** A phase boundary of a long operation (environment pull, boot, seed, baseline, reset). */
export interface ProgressEvent {
  message: string;
  /** Phases done so far, when the total is known. */
  progress?: number;
  total?: number;
}
