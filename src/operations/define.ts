import type { z } from "zod";

import type { Manager } from "../core/manager.js";
import { ValidationError } from "../errors.js";

/**
 * One operation of the public contract, defined once. The MCP tool name, the SDK method
 * name, the CLI command and the input schema all come from here, so a bad value gets the
 * same message from every front end.
 */
export interface Operation<Input extends z.ZodObject, Output> {
  /** snake_case wire name, used as the MCP tool name (e.g. `workspace_create`). */
  name: string;
  /** camelCase SDK method name (e.g. `createWorkspace`). */
  method: string;
  description: string;
  input: Input;
  handler: (manager: Manager, input: z.infer<Input>) => Promise<Output>;
}

export type AnyOperation = Operation<z.ZodObject, unknown>;

export function defineOperation<Input extends z.ZodObject, Output>(
  operation: Operation<Input, Output>,
): Operation<Input, Output> {
  return operation;
}

/**
 * Parses raw input (JSON from MCP, flags from the CLI, an SDK call) against an operation's
 * schema. Shape errors name the field and the value; range rules (vcpu_count between 1
 * and 8, ...) are checked once, in the manager, so their wording is the same everywhere.
 */
export function parseInput<Input extends z.ZodObject>(
  operation: Operation<Input, unknown>,
  raw: unknown,
): z.infer<Input> {
  const parsed = operation.input.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "input";
  const value = issue ? valueAt(raw, issue.path) : undefined;
  const shown = value === undefined ? "" : ` (got ${JSON.stringify(value)})`;
  throw new ValidationError(
    `${operation.name}: ${field}: ${issue?.message ?? "invalid input"}${shown}`,
    { field },
  );
}

function valueAt(raw: unknown, pathParts: ReadonlyArray<PropertyKey>): unknown {
  let current: unknown = raw;
  for (const part of pathParts) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}
