/**
 * Shell completion from the commander tree, by @bomb.sh/tab's commander adapter: it walks
 * every visible command, argument and option, writes the bash/zsh script, and answers the
 * script's `pyro complete -- WORDS…` requests. Loaded only by those two commands.
 */
import tab from "@bomb.sh/tab/commander";
import type { Command } from "commander";

import { ValidationError } from "../errors.js";

/** The shells `pyro completion` writes scripts for. */
const SHELLS = ["bash", "zsh"] as const;

/** The name the scripts call, and register completion for. */
const PROGRAM = "pyro";

/**
 * bash-completion provides `_get_comp_words_by_ref`, which the generated bash script calls;
 * a shell without that package (a minimal image) gets this small stand-in instead.
 */
const BASH_FALLBACK = `# pyro: a stand-in for bash-completion's _get_comp_words_by_ref when it is not installed
if ! declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
  _get_comp_words_by_ref() {
    cur="\${COMP_WORDS[COMP_CWORD]}"
    prev="\${COMP_WORDS[COMP_CWORD-1]}"
    words=("\${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
fi
`;

/** The completion model of `tree` (the adapter adds `completion` and the hidden `complete`). */
function model(tree: Command) {
  return tab(tree, { completionCommandName: "completion" });
}

export function writeCompletionScript(tree: Command, shell: string): void {
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new ValidationError(`shell must be one of ${SHELLS.join(", ")}, got '${shell}'`, {
      field: "shell",
      value: shell,
    });
  }
  const root = model(tree);
  if (shell === "bash") process.stdout.write(BASH_FALLBACK);
  root.setup(PROGRAM, PROGRAM, shell as (typeof SHELLS)[number]);
}

/** Prints the candidates for the last word (one `value<TAB>description` a line, then `:directive`). */
export function writeCompletions(tree: Command, words: string[]): void {
  model(tree).parse(words);
}
