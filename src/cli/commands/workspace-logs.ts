import type { Command } from "commander";

import { isGone, pause, POLL_MS, runFollow, type FollowCall } from "../follow.js";
import {
  addJsonOption,
  numberFlag,
  runOperation,
  withExample,
  type JsonOption,
} from "../output.js";

interface LogsFlags extends JsonOption {
  tail?: number | string;
  afterSequence?: number | string;
  limit?: number | string;
  follow?: boolean;
}

interface LogPage {
  entries: Array<{ sequence: number; exit_code: number | null; command: string }>;
  has_more: boolean;
  next_after_sequence: number;
}

/** `pyro workspace logs ID`: the command log, one page or (--follow) as it grows. */
export function registerLogsCommand(workspace: Command): void {
  const logs = workspace
    .command("logs")
    .description(
      "Show the command log since creation or the last reset (outputs kept up to 64 KiB each; the oldest entries rotate out past 16 MiB). --follow prints each command as it is logged, until the workspace stops or Ctrl-C.",
    )
    .argument("<workspace_id>", "workspace id")
    .option("--tail <n>", "only the last N entries", numberFlag)
    .option(
      "--after-sequence <n>",
      "only entries after this sequence number (a cursor)",
      numberFlag,
    )
    .option("--limit <n>", "at most N entries after the cursor", numberFlag)
    .option("-f, --follow", "keep printing new entries until the workspace stops (or Ctrl-C)");
  addJsonOption(logs);
  withExample(
    logs,
    "pyro workspace logs WORKSPACE_ID --tail 5",
    "pyro workspace logs WORKSPACE_ID --tail 0 --follow",
  );
  logs.action((id: string, options: LogsFlags) => {
    const input = {
      workspace_id: id,
      tail: options.tail,
      after_sequence: options.afterSequence,
      limit: options.limit,
    };
    if (options.follow === true) {
      return runFollow(options, (call, cancelled) => followLog(call, cancelled, input));
    }
    return runOperation("workspace_logs", input, options);
  });
}

/**
 * Prints the page the flags select, then every entry logged after it, polling, until the
 * workspace is no longer started (after one more read, for what was logged before it
 * stopped) or is deleted.
 */
async function followLog(
  call: FollowCall,
  cancelled: AbortSignal,
  firstInput: Record<string, unknown>,
): Promise<number> {
  const id = firstInput.workspace_id as string;
  let input = firstInput;
  let started = true;
  for (let round = 0; ; round++) {
    const lastRound = !started;
    let page: LogPage | null;
    try {
      page = await call<LogPage>("workspace_logs", input);
      if (page !== null && !page.has_more && started) {
        const status = await call<{ state: string }>("workspace_status", { workspace_id: id });
        started = status?.state === "started";
      }
    } catch (error) {
      if (round === 0 || !isGone(error)) throw error;
      process.stderr.write(`pyro: workspace ${id} was deleted\n`);
      return 0;
    }
    if (page === null) return 0;
    for (const entry of page.entries) {
      process.stdout.write(`#${entry.sequence} exit ${entry.exit_code}  ${entry.command}\n`);
    }
    input = { workspace_id: id, after_sequence: page.next_after_sequence };
    if (page.has_more) continue;
    if (lastRound) break;
    if (started) await pause(POLL_MS, cancelled);
  }
  process.stderr.write(`pyro: workspace ${id} is no longer started\n`);
  return 0;
}
