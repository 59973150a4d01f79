/**
 * scripts/build-agent.mjs injects this (esbuild `define`): the package version and a digest
 * of the bundle, e.g. "0.1.0+3f2a9c1d0b7e". Never edited by hand; reported in the hello.
 */
declare const __PYRO_AGENT_VERSION__: string | undefined;

/** "unbundled" only when the agent's sources run without the build (never in a release). */
export const AGENT_VERSION: string =
  typeof __PYRO_AGENT_VERSION__ === "string" ? __PYRO_AGENT_VERSION__ : "unbundled";
