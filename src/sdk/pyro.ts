/**
 * The TypeScript SDK. Every flat method is bound to one catalogue operation: it takes the
 * operation's input object (the same snake_case keys an MCP client sends) and resolves to
 * the same object the MCP tool returns as structuredContent and `--json` prints. Input is
 * validated by the catalogue, so a bad value fails here with the very message (and
 * PyroError code) the MCP server and the CLI give. `pyro.workspaces` is the handle API on
 * top of those methods (src/sdk/workspace.ts).
 */
import { StringDecoder } from "node:string_decoder";

import { Manager } from "../core/manager.js";
import { catalogue, invokeOperation } from "../operations/index.js";
import type { CallOptions } from "./options.js";
import { attachRuntime, runtimeOf } from "../core/client-runtime.js";
import { linkSignal } from "./signal.js";
import type { BackendName, PyroMethods, PyroOperations } from "./types.generated.js";
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

/** One catalogue operation as the SDK lists it (`operations`). */
export interface OperationInfo {
  readonly name: OperationName;
  readonly method: keyof PyroMethods;
  /** When the operation is legal and what it returns (the MCP tool description). */
  readonly description: string;
}

/** Every operation of the public contract, in the order front ends list them. */
export const operations: readonly OperationInfo[] = catalogue;

// The class and the interface below merge on purpose: the interface types the methods that
// the loop after it installs from the catalogue.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Pyro {
  /** Workspaces as handles: `create`, `get`, `list` (each handle calls the flat methods). */
  readonly workspaces: Workspaces;

  constructor(options: PyroOptions = {}) {
    attachRuntime(
      this,
      new Manager({
        backend: options.backend,
        baseDir: options.baseDir,
        environmentCacheDir: options.cacheDir,
        maxActiveVms: options.maxActiveVms,
      }),
    );
    this.workspaces = new Workspaces(this);
  }

  /** Drops cached connections to sandboxes; the sandboxes keep running. */
  close(): void {
    runtimeOf(this).close();
  }
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Pyro extends PyroMethods {}

for (const operation of catalogue) {
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
