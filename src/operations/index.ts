import type { Manager } from "../core/manager.js";
import { NotFoundError } from "../errors.js";
import { findOperation } from "./catalog.js";
import { parseInput } from "./define.js";

export { operations, findOperation } from "./catalog.js";
export { defineOperation, parseInput, type AnyOperation, type Operation } from "./define.js";

/** Validates raw input against the named operation and runs it: the one path every front end takes. */
export async function invokeOperation(
  manager: Manager,
  name: string,
  raw: unknown,
): Promise<unknown> {
  const operation = findOperation(name);
  if (!operation) throw new NotFoundError(`operation '${name}' does not exist`);
  return operation.handler(manager, parseInput(operation, raw));
}
