/**
 * Rules of input fields written into the zod schemas, so one definition drives validation,
 * the JSON schema clients see (minimum, maximum, default, enum) and the error message.
 *
 * A rule's message is worded as what the value must be ("must be between 1 and 8");
 * parseInput (define.ts) shows it as `FIELD RULE, got VALUE`, the wording the manager's own
 * checks use, while zod's type errors keep its generic `tool: field: message` form.
 */
import { z } from "zod";

const RULES = new Set<string>();

/** Whether a zod issue message is one of the rules below. */
export function isRule(message: string): boolean {
  return RULES.has(message);
}

/** A zod error option giving `message` for a value of the right JSON type, zod's own otherwise. */
function rule(message: string, jsonType: "number" | "string") {
  RULES.add(message);
  return {
    error: (issue: { input?: unknown }) =>
      // A string where a number belongs is a type error (zod's message names both types).
      typeof issue.input === jsonType ? message : undefined,
  };
}

/** An integer from min to max (an unset field is fine; pass a default with .default()). */
export function intBetween(min: number, max: number) {
  const error = rule(`must be between ${min} and ${max}`, "number");
  return z.int(error).min(min, error).max(max, error);
}

/** An integer of at least min (cursors, sequence numbers). */
export function intAtLeast(min: number) {
  const error = rule(`must be an integer of at least ${min}`, "number");
  return z.int(error).min(min, error);
}

/** A number from min to max (fractions allowed: seconds). */
export function numberBetween(min: number, max: number) {
  const error = rule(`must be between ${min} and ${max}`, "number");
  return z.number(error).min(min, error).max(max, error);
}

/** A number above 0 and at most max (timeouts), worded as the manager's checkTimeout. */
export function positiveUpTo(max: number) {
  const positive = rule("must be positive", "number");
  const atMost = rule(`must be at most ${max}`, "number");
  return z.number(positive).positive(positive).max(max, atMost);
}

/** One of a closed set of strings, worded as the manager's own checks. */
export function oneOf<const Values extends readonly [string, ...string[]]>(values: Values) {
  return z.enum(values, rule(`must be one of ${values.join(", ")}`, "string"));
}

/** A required string of a tagged object, e.g. the path of a file readiness. */
export function requiredFor(message: string) {
  RULES.add(message);
  return z.string({ error: () => message });
}

/** A message for a union that is not one of its shapes (see service_start's readiness). */
export function ruleMessage(message: string): string {
  RULES.add(message);
  return message;
}
