import type { Command } from "commander";

import { withExample } from "../output.js";

/**
 * `pyro completion bash|zsh`: a completion script generated from the command tree by
 * @bomb.sh/tab (src/cli/completion-script.ts), and the hidden `pyro complete -- WORDS…` that
 * the script calls at each Tab. `tree` builds the whole command tree: a call that names
 * one command builds only that group (see buildProgram), but completion needs them all.
 */
export function registerCompletionCommands(program: Command, tree: () => Command): void {
  const completion = program
    .command("completion")
    .description(
      "Print a shell completion script for bash or zsh (completes commands, subcommands and flags; needs `pyro` on PATH).",
    )
    .argument("<shell>", "bash or zsh");
  withExample(
    completion,
    "source <(pyro completion bash)                      # this shell",
    "pyro completion bash > ~/.local/share/bash-completion/completions/pyro",
    'pyro completion zsh > "${fpath[1]}/_pyro"             # zsh: a directory on $fpath',
  );
  completion.action(async (shell: string) => {
    const { writeCompletionScript } = await import("../completion-script.js");
    writeCompletionScript(tree(), shell);
  });

  const complete = program
    .command("complete", { hidden: true })
    .description("Answer a completion request: pyro complete -- WORDS…")
    .argument("[words...]", "the command line so far, after `pyro`")
    .allowUnknownOption();
  withExample(complete, "pyro complete -- workspace ex   # what the scripts call at each Tab");
  complete.action(async (words: string[]) => {
    const { writeCompletions } = await import("../completion-script.js");
    writeCompletions(tree(), words);
  });
}
