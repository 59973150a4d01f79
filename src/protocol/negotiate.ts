/**
 * Protocol versions and their negotiation (policy: docs/protocol.md, "Versioning").
 *
 * Each side's hello carries the range it speaks (`protocol_min`..`protocol_max`); the agent
 * picks the highest version in both ranges and says which in its answer
 * (`protocol_version`). A hello without a range (an agent or client from before protocol 2)
 * speaks exactly its `protocol_version`.
 *
 *   1  every message is a JSON frame (kind 1) with its type inside
 *   2  requests, responses and aborts have frame kinds of their own (frames.ts)
 */
import { PyroError } from "../errors.js";

export const PROTOCOL_MIN = 1;
export const PROTOCOL_MAX = 2;

export interface ProtocolRange {
  min: number;
  max: number;
}

export const OUR_RANGE: ProtocolRange = { min: PROTOCOL_MIN, max: PROTOCOL_MAX };

/** The range a hello announces, or null when it announces none that makes sense. */
export function helloRange(message: Record<string, unknown>): ProtocolRange | null {
  const { protocol_min: min, protocol_max: max, protocol_version: exact } = message;
  if (isVersion(min) && isVersion(max) && min <= max) return { min, max };
  if (isVersion(exact)) return { min: exact, max: exact };
  return null;
}

/** The fields our hello carries for `range`; `protocol_version` is for agents before 2. */
export function helloFields(range: ProtocolRange): Record<string, number> {
  return { protocol_version: range.min, protocol_min: range.min, protocol_max: range.max };
}

/** The highest version both ranges contain, or null when they are disjoint. */
export function pickVersion(ours: ProtocolRange, theirs: ProtocolRange): number | null {
  const highest = Math.min(ours.max, theirs.max);
  return highest >= Math.max(ours.min, theirs.min) ? highest : null;
}

export function formatRange(range: ProtocolRange | null): string {
  if (!range) return "an unknown protocol version";
  return range.min === range.max
    ? `protocol version ${range.min}`
    : `protocol versions ${range.min}-${range.max}`;
}

/** What the agent answers a client whose range it does not share. */
export function disjointError(agent: ProtocolRange, client: ProtocolRange | null): PyroError {
  return new PyroError(
    "protocol_error",
    `client speaks ${formatRange(client)}, agent speaks ${formatRange(agent)}`,
    { agent_protocol: { ...agent }, client_protocol: client ? { ...client } : null },
  );
}

/**
 * What the user sees when the sandbox's agent and this pyro share no protocol version:
 * the sandbox was started by another pyro (the host was upgraded or downgraded under it).
 * A reset boots it again with this pyro's agent; nothing else can fix it.
 */
export function incompatibleAgent(detail: string): PyroError {
  return new PyroError(
    "protocol_error",
    `the sandbox's agent cannot talk to this pyro (${detail}, this pyro speaks ${formatRange(OUR_RANGE)}): the sandbox was started by another pyro version. Reset the workspace (\`pyro workspace reset ID\`) to boot it with this version's agent, or delete it; for a guest backend whose image carries an older agent, run \`pyro env pull ENV\` first`,
    { client_protocol: { ...OUR_RANGE } },
  );
}

export function wireMessage(error: unknown): string {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : "no reason given";
}

function isVersion(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1;
}
