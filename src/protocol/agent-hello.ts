import { helloRange } from "./negotiate.js";

/** What an agent says about itself in its hello (the client checks each field). */
export interface AgentHello {
  /** The negotiated version (the highest both sides speak). */
  protocol_version: number;
  /** The agent's range; absent from agents before protocol 2 (they speak protocol_version). */
  protocol_min?: number;
  protocol_max?: number;
  agent_version: string;
  node_version: string;
  pid: number;
  workspace_root: string;
  capabilities: string[];
}

/** The agent's hello, field by field (a missing or mistyped field is a protocol error). */
export function parseHello(fields: Record<string, unknown>, version: number): AgentHello {
  const text = (name: string): string => {
    const value = fields[name];
    if (typeof value !== "string") throw new Error(`the agent's hello has no ${name}`);
    return value;
  };
  const pid = fields.pid;
  const capabilities = fields.capabilities;
  if (typeof pid !== "number") throw new Error("the agent's hello has no pid");
  if (!isStringList(capabilities)) {
    throw new Error("the agent's hello has no capabilities list");
  }
  const range = helloRange(fields);
  return {
    ...fields,
    protocol_version: version,
    ...(range ? { protocol_min: range.min, protocol_max: range.max } : {}),
    agent_version: text("agent_version"),
    node_version: text("node_version"),
    workspace_root: text("workspace_root"),
    pid,
    capabilities,
  };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
