import type { Manager } from "../core/manager.js";
import { NotFoundError, PyroError } from "../errors.js";
import { findOperation, operations } from "./catalog.js";
import { parseInput, type OperationContext } from "./define.js";

export { catalogue, operations, type CatalogueOperation } from "./catalog.js";
export { type AnyOperation, type OperationContext, type Progress } from "./define.js";

/** The operation called `name`, or a not_found error that lists the real ones. */
export function requireOperation(name: string) {
  const operation = findOperation(name);
  if (!operation) {
    throw new NotFoundError(
      `operation '${name}' does not exist; known operations: ${operations.map((op) => op.name).join(", ")}`,
    );
  }
  return operation;
}

/** Validates raw input against the named operation and runs it: the one path every front end takes. */
export async function invokeOperation(
  manager: Manager,
  name: string,
  raw: unknown,
  context: OperationContext = {},
): Promise<unknown> {
  const operation = requireOperation(name);
  const input = parseInput(operation, raw);
  if (context.signal?.aborted) {
    // Nothing ran: an already-cancelled call does not start.
    throw new PyroError("cancelled", `${name} was cancelled before it started`, {
      operation: name,
    });
  }
  const checked = context.checkInput ? await context.checkInput(operation.name, input) : input;
  const workspaceId = checked.workspace_id;
  if (typeof workspaceId !== "string") return operation.handler(manager, checked, context);
  // Once for every operation that names a workspace: its name resolves to its id, and the
  // call is activity that restarts its idle timeout (src/core/workspace-expiry.ts).
  const id = await manager.resolveWorkspace(workspaceId);
  // Deleting an expired workspace deletes it, as it always did (not "expired").
  await manager.beginWorkspaceCall(id, { settleExpiry: name !== "workspace_delete" });
  try {
    return await operation.handler(manager, { ...checked, workspace_id: id }, context);
  } finally {
    manager.endWorkspaceCall(id);
  }
}
