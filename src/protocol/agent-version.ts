/** Bumped with the package version; reported in the protocol hello. */
export const AGENT_VERSION = "0.1.0";
