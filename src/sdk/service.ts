/** The service handle of the SDK: `workspace.services.start()` (src/sdk/workspace.ts). */
import { toDate, toDateOrNull } from "./time.js";
import type {
  PyroMethods,
  ServiceLogsResult,
  ServiceStartInput,
  ServiceStatusResult,
} from "./types.generated.js";

/** A service's record: state, pid, exit_code, reasons; timestamps in Unix seconds. */
export type ServiceInfo = ServiceStatusResult;

/** When a service counts as up: the call waits for it (or for its failure). */
export type Readiness =
  | { type: "file"; path: string }
  | { type: "tcp"; address: string }
  | { type: "http"; url: string }
  | { type: "command"; command: string };

export interface ServiceStartOptions {
  /** Directory under /workspace (default /workspace). */
  cwd?: string;
  readiness?: Readiness;
  /** Seconds to wait for readiness (default 30). */
  readyTimeoutSeconds?: number;
  /** Milliseconds between readiness probes (default 500). */
  readyIntervalMs?: number;
  env?: Record<string, string>;
  /** Workspace secrets to put in the environment: { ENV_NAME: SECRET_NAME }. */
  secretEnv?: Record<string, string>;
  /** Guest ports to publish on the host's 127.0.0.1 (needs network_policy egress+published-ports). */
  publishedPorts?: ServiceStartInput["published_ports"];
}

/** A named long-running command in a workspace. */
export class Service {
  readonly name: string;
  readonly workspaceId: string;
  #info: ServiceInfo;
  readonly #methods: PyroMethods;

  constructor(methods: PyroMethods, info: ServiceInfo) {
    this.#methods = methods;
    this.#info = info;
    this.name = info.service_name;
    this.workspaceId = info.workspace_id;
  }

  /** The record as of the last call on this handle. */
  get info(): ServiceInfo {
    return this.#info;
  }

  get startedAt(): Date {
    return toDate(this.#info.started_at);
  }

  /** When the readiness check passed (null: not yet, or no check). */
  get readyAt(): Date | null {
    return toDateOrNull(this.#info.ready_at);
  }

  /** When it ended (null while it runs). */
  get endedAt(): Date | null {
    return toDateOrNull(this.#info.ended_at);
  }

  async status(): Promise<ServiceInfo> {
    return this.#keep(await this.#methods.statusService(this.#ids()));
  }

  /** stdout and stderr: the last 200 lines, `tailLines` of them, or `all` that is kept. */
  async logs(options: { tailLines?: number; all?: boolean } = {}): Promise<ServiceLogsResult> {
    return this.#keep(
      await this.#methods.logsService({
        ...this.#ids(),
        tail_lines: options.tailLines,
        all: options.all,
      }),
    );
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(): Promise<ServiceInfo> {
    return this.#keep(await this.#methods.stopService(this.#ids()));
  }

  #ids() {
    return { workspace_id: this.workspaceId, service_name: this.name };
  }

  #keep<Result extends ServiceInfo>(result: Result): Result {
    this.#info = result;
    return result;
  }
}
