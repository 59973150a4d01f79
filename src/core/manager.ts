import { BackendRegistry, backendSelection } from "../backends/index.js";
import { StateLayout, defaultEnvironmentCacheDir, defaultStateDir } from "../store/layout.js";
import type { WorkspaceRecord } from "../store/records.js";
import { AgentPool } from "./agent-pool.js";
import type { ManagerContext } from "./context.js";
import { doctorReport } from "./doctor.js";
import type { EnvironmentName } from "../environments/catalog.js";
import type { ProgressListener } from "../environments/progress.js";
import { pullEnvironment } from "../environments/pull.js";
import { LIMITS, checkEnvironment } from "../shared/limits.js";
import { vmPayload, workspacePayload, type ServiceCounts } from "./payloads.js";
import type { ProgressOptions } from "./progress.js";
import { reapExpired, reapExpiredWorkspaces } from "./reaper.js";
import { loadVm } from "./records-io.js";
import { resetWorkspace } from "./reset.js";
import {
  listServices,
  logsService,
  serviceCounts,
  startService,
  statusService,
  stopService,
  teardownServices,
  type LogsServiceInput,
  type StartServiceInput,
} from "./services.js";
import {
  closeShell,
  openShell,
  openVmTerminal,
  readShell,
  resizeShell,
  signalShell,
  readVmTerminal,
  resizeVmTerminal,
  writeVmTerminal,
  writeShell,
  type OpenShellInput,
  type ReadShellInput,
  type ResizeShellInput,
  type SignalShellInput,
  type WriteShellInput,
} from "./shells.js";
import { createSnapshot, deleteSnapshot, listSnapshots } from "./snapshots.js";
import {
  createVm,
  deleteVm,
  execVm,
  loadLiveVm,
  startVm,
  stopVm,
  type CreateVmInput,
} from "./vms.js";
import { createWorkspace, type CreateWorkspaceInput } from "./workspace-create.js";
import {
  deleteWorkspace,
  exportWorkspace,
  logsWorkspace,
  pushWorkspaceSync,
  refreshWorkspace,
  type LogsWorkspaceInput,
} from "./workspace-ops.js";
import { collectFinished } from "./command-logging.js";
import { networkLogWorkspace, type NetworkLogInput } from "./network-log-ops.js";
import { networkPolicyOf } from "./sandbox.js";
import {
  killCommand,
  listCommands,
  readCommand,
  statusCommand,
  waitCommand,
  type ReadCommandInput,
} from "./command-ops.js";
import { execWorkspace, type CommandCallOptions, type ExecWorkspaceInput } from "./commands.js";
import { summarizeWorkspace } from "./summary.js";
import type { PrepareOptions } from "./prepare.js";
import { dueState, expiryPayload, touchActivity } from "./workspace-expiry.js";
import { startWorkspace, stopWorkspace } from "./workspace-lifecycle.js";
import {
  listWorkspaces,
  updateWorkspaceMeta,
  type ListWorkspacesInput,
  type UpdateWorkspaceInput,
} from "./workspace-list.js";
import { resolveWorkspaceRef } from "./workspace-names.js";

export interface ManagerOptions {
  /** State directory; default `$PYRO_STATE_DIR` or `$XDG_STATE_HOME/pyro-mcp`. */
  baseDir?: string;
  /** `host` (alias `mock`), `qemu` or `firecracker`; default `$PYRO_BACKEND`, else the best available. */
  backend?: string;
  maxActiveVms?: number;
  /** Guest environment cache; default `$PYRO_ENVIRONMENT_CACHE_DIR` or `~/.cache/pyro-mcp/environments`. */
  environmentCacheDir?: string;
}

/**
 * The pyro runtime. Stateless between calls: everything lives under `baseDir`, so any
 * number of managers in any number of processes can work on the same sandboxes.
 */
export class Manager {
  readonly context: ManagerContext;
  readonly environmentCacheDir: string;

  constructor(options: ManagerOptions = {}) {
    this.environmentCacheDir = options.environmentCacheDir ?? defaultEnvironmentCacheDir();
    this.context = {
      layout: new StateLayout(options.baseDir ?? defaultStateDir()),
      backends: new BackendRegistry(backendSelection(options.backend), this.environmentCacheDir),
      pool: new AgentPool(),
      maxActiveVms: options.maxActiveVms ?? LIMITS.maxActiveVms,
      beforeDestroy: (record) => teardownServices(this.context, record),
    };
  }

  /** `qemu`, `firecracker`, `host`, or `auto` (the strongest that can boot, per sandbox). */
  get backendName(): string {
    return this.context.backends.selection;
  }

  get baseDir(): string {
    return this.context.layout.baseDir;
  }

  /** Drops cached agent connections. Sandboxes keep running. */
  close(): void {
    this.context.pool.closeAll();
  }

  // ---- one-shot VMs -------------------------------------------------------------------

  /** The catalogue, with what is pulled into the cache (quick check: sizes and stamps). */
  async listEnvironments() {
    const rows = await this.context.backends.environments.list({ full: false });
    return {
      backend: this.context.backends.selection,
      cache_dir: this.environmentCacheDir,
      environments: rows.map((row) => ({
        name: row.name,
        description: row.description,
        installed: row.installed,
        status: row.status,
      })),
    };
  }

  // ---- environments and host ------------------------------------------------------------

  /** Builds (or repairs, or refreshes the agent of) a cached environment. */
  pullEnvironment(name: string, options: { force?: boolean; onProgress?: ProgressListener } = {}) {
    return pullEnvironment(this.context.backends.environments, name, options);
  }

  /** Every catalogue environment and its cache entry in full: every digest is checked. */
  async describeEnvironments() {
    const store = this.context.backends.environments;
    return { cache_dir: store.cacheDir, environments: await store.list({ full: true }) };
  }

  /** One environment in full: every digest is checked. */
  inspectEnvironment(name: string) {
    return this.context.backends.environments.describe(checkEnvironment(name) as EnvironmentName, {
      full: true,
    });
  }

  /** Removes broken, stale or leftover cache entries (`all`: every entry). */
  pruneEnvironments(options: { all?: boolean } = {}) {
    return this.context.backends.environments.prune({ all: options.all ?? false });
  }

  /** What this host can run, and why (`pyro doctor`). */
  doctor() {
    return doctorReport(this.context.backends, this.baseDir);
  }

  async createVm(input: CreateVmInput = {}) {
    return vmPayload(await createVm(this.context, input));
  }

  async startVm(vmId: string, options?: ProgressOptions) {
    return vmPayload(await startVm(this.context, vmId, options));
  }

  execVm(
    vmId: string,
    input: { command: string; timeout_seconds?: number },
    options?: { signal?: AbortSignal },
  ) {
    return execVm(this.context, vmId, input, options);
  }

  async stopVm(vmId: string) {
    return vmPayload(await stopVm(this.context, vmId));
  }

  deleteVm(vmId: string) {
    return deleteVm(this.context, vmId);
  }

  async statusVm(vmId: string) {
    return vmPayload(await loadLiveVm(this.context, vmId));
  }

  async networkInfoVm(vmId: string) {
    const record = await loadVm(this.context.layout, vmId);
    return {
      vm_id: record.vm_id,
      // User-mode networking: the guest's address (10.0.2.15) is private to its VM, and
      // there is no tap device or MAC the host could use (docs/networking.md).
      network_enabled: networkPolicyOf(record) !== "off",
      guest_ip: null,
      tap_name: null,
      mac_address: null,
    };
  }

  /** create + start + exec (+ delete, which exec does); the VM is deleted even on failure. */
  async runVm(
    input: CreateVmInput & { command: string; timeout_seconds?: number },
    options?: ProgressOptions & { signal?: AbortSignal },
  ) {
    const created = await this.createVm(input);
    try {
      await this.startVm(created.vm_id, options);
    } catch (error) {
      await this.deleteVm(created.vm_id).catch(() => undefined);
      throw error;
    }
    return this.execVm(
      created.vm_id,
      { command: input.command, timeout_seconds: input.timeout_seconds },
      { signal: options?.signal },
    );
  }

  reapExpired() {
    return reapExpired(this.context);
  }

  // ---- workspaces ---------------------------------------------------------------------

  async createWorkspace(input: CreateWorkspaceInput = {}, options?: ProgressOptions) {
    // Expired workspaces are collected as new ones are made (as expired VMs are).
    await reapExpiredWorkspaces(this.context).catch(() => undefined);
    const record = await createWorkspace(this.context, input, options);
    return this.workspaceView(record);
  }

  async statusWorkspace(workspaceId: string) {
    const record = await refreshWorkspace(this.context, workspaceId);
    // Commands that finished in the background count (and show as last_command) once logged.
    if (await this.collectFinished(record)) {
      return this.workspaceView(await refreshWorkspace(this.context, workspaceId));
    }
    return this.workspaceView(record);
  }

  execWorkspace(workspaceId: string, input: ExecWorkspaceInput, options?: CommandCallOptions) {
    return execWorkspace(this.context, workspaceId, input, options);
  }

  async logsWorkspace(workspaceId: string, input: LogsWorkspaceInput = {}) {
    await this.collectFinished(await refreshWorkspace(this.context, workspaceId).catch(() => null));
    return logsWorkspace(this.context, workspaceId, input);
  }

  // ---- commands (src/core/commands.ts) ------------------------------------------------

  listCommands(workspaceId: string) {
    return listCommands(this.context, workspaceId);
  }

  statusCommand(workspaceId: string, commandId: string) {
    return statusCommand(this.context, workspaceId, commandId);
  }

  readCommand(
    workspaceId: string,
    commandId: string,
    input: ReadCommandInput = {},
    options?: CommandCallOptions,
  ) {
    return readCommand(this.context, workspaceId, commandId, input, options);
  }

  waitCommand(
    workspaceId: string,
    commandId: string,
    input: { wait_seconds?: number } = {},
    options?: CommandCallOptions,
  ) {
    return waitCommand(this.context, workspaceId, commandId, input, options);
  }

  killCommand(workspaceId: string, commandId: string) {
    return killCommand(this.context, workspaceId, commandId);
  }

  /** Logs finished background commands; true when it logged any. Never fails the caller. */
  private async collectFinished(record: WorkspaceRecord | null): Promise<boolean> {
    if (!record) return false;
    // An unreachable agent is not this call's failure: status reports the sandbox's state.
    return collectFinished(this.context, record).catch(() => false);
  }

  deleteWorkspace(workspaceId: string) {
    return deleteWorkspace(this.context, workspaceId);
  }

  pushWorkspaceSync(workspaceId: string, input: { source_path: string; dest?: string }) {
    return pushWorkspaceSync(this.context, workspaceId, input);
  }

  async diffWorkspace(workspaceId: string) {
    // jsdiff and node-tar load with the diff engine, on first use, not with the runtime.
    const { diffWorkspace } = await import("./diff-ops.js");
    return diffWorkspace(this.context, workspaceId);
  }

  exportWorkspace(workspaceId: string, input: { path: string; output_path: string }) {
    return exportWorkspace(this.context, workspaceId, input);
  }

  createSnapshot(workspaceId: string, snapshotName: string) {
    return createSnapshot(this.context, workspaceId, snapshotName);
  }

  listSnapshots(workspaceId: string) {
    return listSnapshots(this.context, workspaceId);
  }

  deleteSnapshot(workspaceId: string, snapshotName: string) {
    return deleteSnapshot(this.context, workspaceId, snapshotName);
  }

  async resetWorkspace(
    workspaceId: string,
    input: { snapshot?: string } = {},
    options?: ProgressOptions,
  ) {
    const record = await resetWorkspace(this.context, workspaceId, input, options);
    return this.workspaceView(record);
  }

  // ---- internals ----------------------------------------------------------------------

  private async workspaceView(record: WorkspaceRecord) {
    return workspacePayload(
      record,
      await this.serviceCounts(record),
      expiryPayload(this.context.layout, record),
    );
  }

  // ---- shells and services ----------------------------------------------------------
  // Shells and services live in the sandbox's agent; see src/core/shells.ts,
  // src/core/services.ts and docs/shells-and-services.md.

  openShell(workspaceId: string, input: OpenShellInput = {}) {
    return openShell(this.context, workspaceId, input);
  }

  readShell(workspaceId: string, shellId: string, input: ReadShellInput = {}) {
    return readShell(this.context, workspaceId, shellId, input);
  }

  writeShell(workspaceId: string, shellId: string, input: WriteShellInput) {
    return writeShell(this.context, workspaceId, shellId, input);
  }

  signalShell(workspaceId: string, shellId: string, input: SignalShellInput = {}) {
    return signalShell(this.context, workspaceId, shellId, input);
  }

  closeShell(workspaceId: string, shellId: string) {
    return closeShell(this.context, workspaceId, shellId);
  }

  resizeShell(workspaceId: string, shellId: string, input: ResizeShellInput = {}) {
    return resizeShell(this.context, workspaceId, shellId, input);
  }

  /** `pyro run -it`: a terminal running `command` in a started one-shot VM (not in the catalogue). */
  openVmTerminal(vmId: string, input: { command: string; cols?: number; rows?: number }) {
    return openVmTerminal(this.context, vmId, input);
  }

  /** Reads, writes and resizes a terminal opened by openVmTerminal. */
  readVmTerminal(vmId: string, shellId: string, input: ReadShellInput) {
    return readVmTerminal(this.context, vmId, shellId, input);
  }

  writeVmTerminal(vmId: string, shellId: string, input: WriteShellInput) {
    return writeVmTerminal(this.context, vmId, shellId, input);
  }

  resizeVmTerminal(vmId: string, shellId: string, input: ResizeShellInput) {
    return resizeVmTerminal(this.context, vmId, shellId, input);
  }

  startService(workspaceId: string, serviceName: string, input: StartServiceInput) {
    return startService(this.context, workspaceId, serviceName, input);
  }

  listServices(workspaceId: string) {
    return listServices(this.context, workspaceId);
  }

  statusService(workspaceId: string, serviceName: string) {
    return statusService(this.context, workspaceId, serviceName);
  }

  logsService(workspaceId: string, serviceName: string, input: LogsServiceInput = {}) {
    return logsService(this.context, workspaceId, serviceName, input);
  }

  stopService(workspaceId: string, serviceName: string) {
    return stopService(this.context, workspaceId, serviceName);
  }

  /** service_count / running_service_count for workspace status (from the agent when it runs). */
  protected async serviceCounts(record: WorkspaceRecord): Promise<ServiceCounts> {
    return serviceCounts(this.context, record);
  }

  /** workspace_summary: a bounded review since the last reset (src/core/summary.ts). */
  async summarizeWorkspace(workspaceId: string) {
    await this.collectFinished(await refreshWorkspace(this.context, workspaceId).catch(() => null));
    return summarizeWorkspace(this.context, workspaceId);
  }

  /** `pyro prepare`: pull, then prove create/exec/reset/delete with timings (src/core/prepare.ts). */
  async prepareEnvironment(environment: string, options: PrepareOptions = {}) {
    const { prepareEnvironment } = await import("./prepare.js");
    return prepareEnvironment(this, environment, options);
  }

  /** `pyro doctor --environment`: warm, cold or stale, and why. */
  async environmentReadiness(environment: string) {
    const { environmentReadiness } = await import("./prepare.js");
    return environmentReadiness(this.context, environment);
  }

  // ---- files, patches and the stopped disk ------------------------------------------
  // Single files through the agent (src/core/file-ops.ts); a stopped guest's disk read
  // without booting it (src/core/disk-ops.ts).

  async listWorkspaceFiles(workspaceId: string, input: { path?: string; recursive?: boolean }) {
    const { listWorkspaceFiles } = await import("./file-ops.js");
    return listWorkspaceFiles(this.context, workspaceId, input);
  }

  async readWorkspaceFile(workspaceId: string, input: { path: string; max_bytes?: number }) {
    const { readWorkspaceFile } = await import("./file-ops.js");
    return readWorkspaceFile(this.context, workspaceId, input);
  }

  async writeWorkspaceFile(
    workspaceId: string,
    input: { path: string; text: string; encoding?: "utf8" | "base64"; mode?: string },
  ) {
    const { writeWorkspaceFile } = await import("./file-ops.js");
    return writeWorkspaceFile(this.context, workspaceId, input);
  }

  async applyWorkspacePatch(workspaceId: string, input: { patch: string }) {
    const { applyWorkspacePatch } = await import("./file-ops.js");
    return applyWorkspacePatch(this.context, workspaceId, input);
  }

  async exportWorkspaceDisk(workspaceId: string, input: { output_path: string }) {
    const { exportWorkspaceDisk } = await import("./disk-ops.js");
    return exportWorkspaceDisk(this.context, workspaceId, input);
  }

  async listWorkspaceDisk(workspaceId: string, input: { path?: string; recursive?: boolean }) {
    const { listWorkspaceDisk } = await import("./disk-ops.js");
    return listWorkspaceDisk(this.context, workspaceId, input);
  }

  async readWorkspaceDisk(workspaceId: string, input: { path: string; max_bytes?: number }) {
    const { readWorkspaceDisk } = await import("./disk-ops.js");
    return readWorkspaceDisk(this.context, workspaceId, input);
  }

  // ---- lifecycle, expiry, names (src/core/workspace-lifecycle.ts, -expiry, -names, -list) ----

  /** Ends what runs, flushes and stops the sandbox; keeps /workspace, snapshots and logs. */
  async stopWorkspace(workspaceId: string, options?: ProgressOptions) {
    const record = await refreshWorkspace(this.context, workspaceId);
    return this.workspaceView(await stopWorkspace(this.context, record, options));
  }

  /** Boots a stopped workspace again on its kept /workspace (no reset). */
  async startWorkspace(workspaceId: string, options?: ProgressOptions) {
    const record = await refreshWorkspace(this.context, workspaceId);
    return this.workspaceView(await startWorkspace(this.context, record, options));
  }

  async listWorkspaces(input: ListWorkspacesInput = {}) {
    // Expired workspaces are collected before they are listed.
    await reapExpiredWorkspaces(this.context).catch(() => undefined);
    return listWorkspaces(this.context, input);
  }

  async updateWorkspace(workspaceId: string, input: UpdateWorkspaceInput) {
    await refreshWorkspace(this.context, workspaceId);
    return this.workspaceView(await updateWorkspaceMeta(this.context, workspaceId, input));
  }

  /** The id a workspace id or unique name addresses (the operations edge resolves every call). */
  resolveWorkspace(ref: string): Promise<string> {
    return resolveWorkspaceRef(this.context, ref);
  }

  /**
   * Opens an operation on a workspace (the operations edge calls it for every operation
   * that names one): a workspace past its deadline is settled first (expired and deleted,
   * or kept because something runs in it), so no operation revives an expired workspace;
   * then its activity is recorded (its idle timeout restarts).
   */
  async beginWorkspaceCall(
    workspaceId: string,
    options: { settleExpiry?: boolean } = {},
  ): Promise<void> {
    const due = await dueState(this.context, workspaceId);
    if (!due) return; // the operation itself says "does not exist"
    if (due.due && options.settleExpiry !== false)
      await refreshWorkspace(this.context, workspaceId);
    touchActivity(this.context.layout, workspaceId);
  }

  /** Closes an operation on a workspace: its end is activity too (a long exec, a boot). */
  endWorkspaceCall(workspaceId: string): void {
    touchActivity(this.context.layout, workspaceId);
  }

  // ---- guest networking (src/core/network-log-ops.ts) ----------------------------------

  networkLogWorkspace(workspaceId: string, input: NetworkLogInput = {}) {
    return networkLogWorkspace(this.context, workspaceId, input);
  }
}
