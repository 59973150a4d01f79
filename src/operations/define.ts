import type { z } from "zod";

import type { Manager } from "../core/manager.js";
import { ValidationError } from "../errors.js";
import { fastAccepts } from "../shared/fast-check.js";
import type { ProgressEvent } from "../shared/progress.js";
import { lazy } from "../shared/lazy.js";
import { isRule } from "./rules.js";

/** A step of a long operation (boot, seed, baseline), for MCP progress and CLI stderr. */
export type Progress = ProgressEvent;

/** What a front end passes along with the input: progress reporting and its own input rules. */
export interface OperationContext {
  onProgress?: (progress: Progress) => void;
  /** Cancels the call: a command it runs is killed (and logged with cancelled: true). */
  signal?: AbortSignal;
  /** Output of a command as it arrives (workspace_exec): the CLI prints it, MCP reports progress. */
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  /**
   * workspace_exec's wait_seconds when the caller gave none: MCP sets it, so a model's call
   * returns before a client's request timeout and the command goes on in the background.
   */
  defaultWaitSeconds?: number;
  /**
   * A front end's own rule on validated input, before the operation runs: the MCP server
   * confines host paths to its roots with it (src/mcp/roots.ts). Returns the input to use.
   */
  checkInput?: <Input extends Record<string, unknown>>(
    operation: string,
    input: Input,
  ) => Promise<Input>;
}

type OperationEffect = "read" | "write" | "destructive";

/**
 * One operation of the public contract, defined once. The MCP tool (name, description,
 * input and output JSON schemas, text rendering), the SDK method and the CLI command all
 * come from here, so a bad value gets the same message from every front end.
 */
export interface Operation<
  Name extends string,
  Method extends string,
  Input extends z.ZodObject,
  Output extends z.ZodObject,
> {
  /** snake_case wire name, used as the MCP tool name (e.g. `workspace_create`). */
  name: Name;
  /** camelCase SDK method name (e.g. `createWorkspace`). */
  method: Method;
  /** A short human name: the MCP tool's title. */
  title: string;
  /** When the operation is legal and what it returns: shown to agents as the tool description. */
  description: string;
  /**
   * What a call may do to what already exists, for clients deciding what to confirm (the
   * MCP tool annotations): `read` changes nothing; `write` only adds (a sandbox, a snapshot,
   * a host file that did not exist); `destructive` may stop, delete or overwrite something,
   * including whatever a command it runs does inside the sandbox.
   */
  effect: OperationEffect;
  /** A second identical call changes nothing more (stop, delete, update, a whole-file write). */
  idempotent?: boolean;
  input: Input;
  /** The result's shape; the handler's return type is checked against it at compile time. */
  output: Output;
  handler: (
    manager: Manager,
    input: z.infer<Input>,
    context: OperationContext,
  ) => Promise<z.input<Output>>;
  /** A short human rendering of a result: the MCP text content and the CLI's default output. */
  render: (result: z.output<Output>) => string;
}

export type AnyOperation = Operation<string, string, z.ZodObject, z.ZodObject>;

/** An operation as written in src/operations/: its schemas as functions that build them. */
type OperationDefinition<
  Name extends string,
  Method extends string,
  Input extends z.ZodObject,
  Output extends z.ZodObject,
> = Omit<Operation<Name, Method, Input, Output>, "input" | "output"> & {
  input: () => Input;
  output: () => Output;
};

/**
 * The operation, with `input` and `output` built on first access and kept (src/shared/lazy.ts): a
 * call that uses one operation builds only that one's schemas.
 */
export function defineOperation<
  const Name extends string,
  const Method extends string,
  Input extends z.ZodObject,
  Output extends z.ZodObject,
>(
  definition: OperationDefinition<Name, Method, Input, Output>,
): Operation<Name, Method, Input, Output> {
  const { input, output, ...rest } = definition;
  return Object.defineProperties(rest, {
    input: { get: lazy(input), enumerable: true },
    output: { get: lazy(output), enumerable: true },
  }) as Operation<Name, Method, Input, Output>;
}

/**
 * Parses raw input (JSON from MCP, flags from the CLI, an SDK call) against an operation's
 * schema. A broken rule of the schema (rules.ts: a range, a closed set) reads as the
 * manager's own checks do, `vcpu_count must be between 1 and 8, got 99`, so a bad value
 * gets the same wording whichever check sees it first; a shape error names the operation,
 * the field and the value.
 *
 * A read-only operation's input is first checked by its generated JSON schema
 * (src/shared/fast-check.ts): valid input, as a copy (zod's result is one too), without
 * building the schema or loading zod; anything else goes to zod, which fills defaults in
 * or words the error.
 */
export function parseInput<Input extends z.ZodObject>(
  operation: { name: string; input: Input },
  raw: unknown,
): z.infer<Input> {
  const fast = fastCopy(`input:${operation.name}`, raw ?? {});
  if (fast !== undefined) return fast as z.infer<Input>;
  const parsed = operation.input.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "input";
  const value = issue ? valueAt(raw, issue.path) : undefined;
  if (issue && isRule(issue.message)) {
    const got = value === undefined ? "" : `, got ${shownValue(value)}`;
    throw new ValidationError(`${field} ${issue.message}${got}`, { field, value });
  }
  const shown = value === undefined ? "" : ` (got ${JSON.stringify(value)})`;
  throw new ValidationError(
    `${operation.name}: ${field}: ${issue?.message ?? "invalid input"}${shown}`,
    { field },
  );
}

/** A copy of `raw` when the generated JSON schema `name` accepts it (a value zod keeps as is). */
function fastCopy(name: string, raw: unknown): unknown {
  if (!fastAccepts(name, raw)) return undefined;
  try {
    return structuredClone(raw);
  } catch {
    return undefined; // not plain data (a function in a free-form field): zod decides
  }
}

/** A value as the manager's messages show it: 99, 'text', or JSON for anything else. */
function shownValue(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string")
    return `'${value.length > 80 ? `${value.slice(0, 80)}...` : value}'`;
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 80)}...` : json;
}

function valueAt(raw: unknown, pathParts: ReadonlyArray<PropertyKey>): unknown {
  let current: unknown = raw;
  for (const part of pathParts) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}
