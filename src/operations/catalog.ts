import type { AnyOperation } from "./define.js";
import { serviceOperations } from "./service.js";
import { shellOperations } from "./shell.js";
import { vmOperations } from "./vm.js";
import { workspaceOperations } from "./workspace.js";

/** Every operation of the public contract, in the order front ends list them. */
export const operations: readonly AnyOperation[] = [
  ...vmOperations,
  ...workspaceOperations,
  ...shellOperations,
  ...serviceOperations,
] as AnyOperation[];

export function findOperation(name: string): AnyOperation | undefined {
  return operations.find((operation) => operation.name === name);
}
