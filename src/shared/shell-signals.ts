/** The signals a client may send to a shell (workspace_shell_signal); checked on both sides. */
export const SHELL_SIGNALS = ["HUP", "INT", "TERM", "KILL"] as const;
export type ShellSignal = (typeof SHELL_SIGNALS)[number];
