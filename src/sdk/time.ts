/** A result's timestamp (Unix time in seconds, maybe fractional) as a Date. */
export function toDate(seconds: number): Date {
  return new Date(seconds * 1000);
}

/** The same for a timestamp that may be null (not yet, or never). */
export function toDateOrNull(seconds: number | null | undefined): Date | null {
  return seconds === null || seconds === undefined ? null : toDate(seconds);
}
