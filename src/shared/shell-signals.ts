/** The signals a client may send to a shell (workspace_shell_signal); checked on both sides. */
export const SHELL_SIGNALS = ["HUP", "INT", "TERM", "KILL"] as const;
export type ShellSignal = (typeof SHELL_SIGNALS)[number];

export function isShellSignal(name: string): name is ShellSignal {
  return SHELL_SIGNALS.some((signal) => signal === name);
}
