import { commandOperations } from "./command.js";
import type { AnyOperation } from "./define.js";
import { serviceOperations } from "./service.js";
import { shellOperations } from "./shell.js";
import { snapshotOperations } from "./snapshot.js";
import { vmOperations } from "./vm.js";
import { workspaceOperations } from "./workspace.js";
import { fileOperations } from "./files.js";
import { workspaceLifeOperations } from "./workspace-life.js";
import { forkOperations } from "./fork.js";

/** The catalogue with every operation's literal name and method, for typed SDK bindings. */
export const catalogue = [
  ...vmOperations,
  ...workspaceOperations,
  ...snapshotOperations,
  ...shellOperations,
  ...serviceOperations,
  ...commandOperations,
  ...fileOperations,
  ...workspaceLifeOperations,
  ...forkOperations,
];
export type CatalogueOperation = (typeof catalogue)[number];

/** Every operation of the public contract, in the order front ends list them. */
export const operations: readonly AnyOperation[] = catalogue as unknown as AnyOperation[];

export function findOperation(name: string): AnyOperation | undefined {
  return operations.find((operation) => operation.name === name);
}
