import type { Command } from "commander";

import {
  addJsonOption,
  numberFlag,
  runOperation,
  withExample,
  type JsonOption,
} from "../output.js";
import { collect } from "./command.js";
import { withLabels } from "./workspace-life.js";

interface ForkFlags extends JsonOption {
  snapshot?: string;
  count?: number | string;
  name?: string;
  label: string[];
  idOnly?: boolean;
}

/** `pyro workspace fork ID`: workspace_fork (src/core/workspace-fork.ts). */
export function registerForkCommand(workspace: Command): void {
  const fork = workspace
    .command("fork")
    .description(
      "Make new workspaces from a snapshot of this one (default: /workspace as it is now): each a fresh sandbox with the source's baseline, so its diff shows what changed since the seed. Prints the new workspaces.",
    )
    .argument("<workspace_id>", "workspace id or name")
    .option("--snapshot <name>", "snapshot to fork (default: /workspace now; needs it started)")
    .option("--count <n>", "how many forks, 1-8 (default 1)", numberFlag)
    .option("--name <name>", "unique name of the fork; with --count N: NAME-1 .. NAME-N")
    .option("--label <KEY=VALUE>", "label added to the source's (repeatable)", collect, [])
    .option("--id-only", "print only the new workspace ids, one a line");
  addJsonOption(fork);
  withExample(
    fork,
    "pyro workspace fork WORKSPACE_ID --count 3 --name try",
    "pyro workspace fork WORKSPACE_ID --snapshot green --label branch=b",
    "for ID in $(pyro workspace fork WORKSPACE_ID --count 2 --id-only); do pyro workspace exec $ID -- make test; done",
  );
  fork.action((id: string, options: ForkFlags) =>
    withLabels(options, options.label, (labels) =>
      runOperation(
        "workspace_fork",
        {
          workspace_id: id,
          snapshot: options.snapshot,
          count: options.count,
          name: options.name,
          labels,
        },
        options,
        options.idOnly === true ? printIds : undefined,
      ),
    ),
  );
}

function printIds(result: { workspaces: Array<{ workspace_id: string }> }): void {
  for (const fork of result.workspaces) process.stdout.write(`${fork.workspace_id}\n`);
}
