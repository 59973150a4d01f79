/**
 * The calls the CommonJS read path serves (src/cli/read.ts; docs/cli.md, "Start-up time"):
 * `pyro workspace status|logs|list …` and `pyro env list …`, whatever follows. Only a
 * start-up choice: the read path builds the same command group with the same code, so a
 * call behaves the same whichever path takes it.
 */
const READ_ONLY_CALLS: Readonly<Record<string, readonly string[]>> = {
  workspace: ["status", "logs", "list"],
  env: ["list"],
};

/** Whether `args` (the command line after `node pyro`) is a read-only call. */
export function isReadOnlyCall(args: readonly string[]): boolean {
  const [group, command] = args;
  return (
    group !== undefined &&
    command !== undefined &&
    Object.hasOwn(READ_ONLY_CALLS, group) &&
    READ_ONLY_CALLS[group]!.includes(command)
  );
}
