/**
 * The TypeScript SDK. Every flat method is bound to one catalogue operation: it takes the
 * operation's input object (the same snake_case keys an MCP client sends) and resolves to
 * the same object the MCP tool returns as structuredContent and `--json` prints. Input is
 * validated by the catalogue, so a bad value fails here with the very message (and
 * PyroError code) the MCP server and the CLI give. `pyro.workspaces` is the handle API on
 * top of those methods (src/sdk/workspace.ts).
 */
import { StringDecoder } from "node:string_decoder";

import { clientEntry, registerClient } from "../core/client-registry.js";
import { ValidationError } from "../errors.js";
import type { CallOptions } from "./options.js";
import { linkSignal } from "./signal.js";
import {
  BACKEND_CHOICES,
  OPERATIONS,
  type BackendName,
  type OperationInfo,
  type PyroMethods,
  type PyroOperations,
} from "./types.generated.js";
import { Workspaces } from "./workspace.js";

export interface PyroOptions {
  /** Default `$PYRO_BACKEND`, else `auto` (per sandbox: qemu when it can boot the environment, else host). */
  backend?: BackendName;
  /** State directory; default `$PYRO_STATE_DIR`, else `$XDG_STATE_HOME/pyro-mcp`. */
  baseDir?: string;
  /** Environment cache; default `$PYRO_ENVIRONMENT_CACHE_DIR`, else `~/.cache/pyro-mcp/environments`. */
  cacheDir?: string;
  /** Most VMs running at once (default 4). */
  maxActiveVms?: number;
}

/** An MCP tool name of the catalogue (`workspace_exec`, …). */
export type OperationName = keyof PyroOperations;
/** Input and result types by MCP tool name, e.g. `PyroInput<"workspace_exec">`. */
export type PyroInput<Name extends OperationName> = PyroOperations[Name]["input"];
export type PyroResult<Name extends OperationName> = PyroOperations[Name]["result"];

/** Every operation of the public contract (name, method, description), in the order front ends list them. */
export const operations: readonly OperationInfo[] = OPERATIONS;

// The class and the interface below merge on purpose: the interface types the methods that
// the loop after it installs from the catalogue.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Pyro {
  /** Workspaces as handles: `create`, `get`, `list` (each handle calls the flat methods). */
  readonly workspaces: Workspaces;

  constructor(options: PyroOptions = {}) {
    const { backend } = options;
    if (backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(backend)) {
      throw new ValidationError(
        `invalid backend '${String(backend)}': expected one of ${BACKEND_CHOICES.join(", ")}`,
        { field: "backend", value: backend },
      );
    }
    // The runtime is built on the first call (src/core/client-runtime.ts): importing and
    // constructing the SDK loads neither the Manager nor the catalogue's schemas.
    registerClient(this, {
      backend,
      baseDir: options.baseDir,
      environmentCacheDir: options.cacheDir,
      maxActiveVms: options.maxActiveVms,
    });
    this.workspaces = new Workspaces(this);
  }

  /** Drops cached connections to sandboxes; the sandboxes keep running. */
  close(): void {
    clientEntry(this)?.manager?.close();
  }
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Pyro extends PyroMethods {}

for (const operation of OPERATIONS) {
  Object.defineProperty(Pyro.prototype, operation.method, {
    value: function (this: Pyro, input: unknown, options: CallOptions = {}) {
      return invoke(this, operation.name, input, options);
    },
    writable: true,
    configurable: true,
  });
}

async function invoke(
  pyro: Pyro,
  name: string,
  input: unknown,
  options: CallOptions,
): Promise<unknown> {
  const { onStdout, onStderr, signal, onProgress } = options;
  const [{ runtimeOf }, { invokeOperation }] = await Promise.all([
    import("../core/client-runtime.js"),
    import("../operations/index.js"),
  ]);
  const linked = linkSignal(signal);
  try {
    return await invokeOperation(runtimeOf(pyro), name, input, {
      onProgress,
      signal: linked.signal,
      onOutput: textOutput(onStdout, onStderr),
    });
  } finally {
    linked.release();
  }
}

/** Output chunks as text for the callbacks (a character split across chunks stays whole). */
function textOutput(
  onStdout: CallOptions["onStdout"],
  onStderr: CallOptions["onStderr"],
): ((stream: "stdout" | "stderr", chunk: Buffer) => void) | undefined {
  if (!onStdout && !onStderr) return undefined;
  const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  return (stream, chunk) => {
    const text = decoders[stream].write(chunk);
    if (text === "") return;
    (stream === "stdout" ? onStdout : onStderr)?.(text);
  };
}
