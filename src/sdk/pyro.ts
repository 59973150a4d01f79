/**
 * The TypeScript SDK. Every method is bound to one catalogue operation: it takes the
 * operation's input object (the same snake_case keys an MCP client sends) and resolves to
 * the same object the MCP tool returns as structuredContent and `--json` prints. Input is
 * validated by the catalogue, so a bad value fails here with the very message (and
 * PyroError code) the MCP server and the CLI give.
 */
import { StringDecoder } from "node:string_decoder";
import type { z } from "zod";

import { Manager } from "../core/manager.js";
import {
  catalogue,
  invokeOperation,
  type CatalogueOperation,
  type Progress,
} from "../operations/index.js";

export interface PyroOptions {
  /** `qemu`, `firecracker` or `host` (alias `mock`); default `$PYRO_BACKEND`, else the best available. */
  backend?: string;
  /** State directory; default `$PYRO_STATE_DIR`, else `$XDG_STATE_HOME/pyro-mcp`. */
  baseDir?: string;
  /** Environment cache; default `$PYRO_ENVIRONMENT_CACHE_DIR`, else `~/.cache/pyro-mcp/environments`. */
  cacheDir?: string;
  /** Most VMs running at once (default 4). */
  maxActiveVms?: number;
}

/** Per-call options. */
export interface CallOptions {
  /** Called at phase boundaries of long operations (create, reset, run). */
  onProgress?: (progress: Progress) => void;
  /**
   * Cancels the call. A command it runs (execWorkspace) is killed with everything it
   * started, logged with exit_code 130 and `cancelled: true`, and the call rejects with a
   * PyroError of code `cancelled`.
   */
  signal?: AbortSignal;
  /** execWorkspace: the command's stdout as it arrives (the result still has all of it). */
  onStdout?: (text: string) => void;
  /** execWorkspace: the command's stderr as it arrives. */
  onStderr?: (text: string) => void;
}

type MethodOf<Op extends CatalogueOperation> = (
  input: z.input<Op["input"]>,
  options?: CallOptions,
) => Promise<z.output<Op["output"]>>;

/** One method per catalogue operation, named by its `method` (createWorkspace, execWorkspace, …). */
export type PyroMethods = {
  [Op in CatalogueOperation as Op["method"]]: MethodOf<Op>;
};

/** Input and result types by MCP tool name, e.g. `PyroInput<"workspace_exec">`. */
export type PyroInput<Name extends CatalogueOperation["name"]> = z.input<
  Extract<CatalogueOperation, { name: Name }>["input"]
>;
export type PyroResult<Name extends CatalogueOperation["name"]> = z.output<
  Extract<CatalogueOperation, { name: Name }>["output"]
>;

// The class and the interface below merge on purpose: the interface types the methods that
// the loop at the end of this file installs from the catalogue.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Pyro {
  /** The runtime this client drives (state on disk, shared with every other pyro process). */
  readonly manager: Manager;

  constructor(options: PyroOptions = {}) {
    this.manager = new Manager({
      backend: options.backend,
      baseDir: options.baseDir,
      environmentCacheDir: options.cacheDir,
      maxActiveVms: options.maxActiveVms,
    });
  }

  /** Drops cached connections to sandboxes; the sandboxes keep running. */
  close(): void {
    this.manager.close();
  }
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Pyro extends PyroMethods {}

for (const operation of catalogue) {
  Object.defineProperty(Pyro.prototype, operation.method, {
    value: function (this: Pyro, input: unknown, options: CallOptions = {}) {
      const { onStdout, onStderr, ...context } = options;
      return invokeOperation(this.manager, operation.name, input, {
        ...context,
        onOutput: textOutput(onStdout, onStderr),
      });
    },
    writable: true,
    configurable: true,
  });
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
