import { doctorReport } from "./doctor.js";
import type { EnvironmentName } from "../environments/catalog.js";
import type { ProgressListener } from "../environments/progress.js";
import { pullEnvironment } from "../environments/pull.js";
import { checkEnvironment } from "../shared/limits.js";
import { listEnvironments } from "./environment-list.js";
import { ManagerBase } from "./manager-base.js";
import { vmPayload } from "./payloads.js";
import type { ProgressOptions } from "./progress.js";
import { reapExpired, reapExpiredWorkspaces } from "./reaper.js";
import { resetWorkspace } from "./reset.js";
// Namespaces for the groups Manager forwards to one by one (test/import-graph.ts still
// counts each `group.member` used, so an unused export there is still found).
import * as services from "./services.js";
import * as shells from "./shells.js";
import * as terminals from "./vm-terminals.js";
import { createSnapshot, deleteSnapshot, listSnapshots } from "./snapshots.js";
import * as vms from "./vms.js";
import { createWorkspace, type CreateWorkspaceInput } from "./workspace-create.js";
import * as workspaces from "./workspace-ops.js";
import { networkLogWorkspace, type NetworkLogInput } from "./network-log-ops.js";
import * as commands from "./command-ops.js";
import { execWorkspace, type CommandCallOptions, type ExecWorkspaceInput } from "./commands.js";
import { summarizeWorkspace } from "./summary.js";
import type { PrepareOptions } from "./prepare.js";
import { touchActivity } from "./workspace-expiry.js";
import { startWorkspace, stopWorkspace } from "./workspace-lifecycle.js";
import {
  listWorkspaces,
  updateWorkspaceMeta,
  type ListWorkspacesInput,
  type UpdateWorkspaceInput,
} from "./workspace-list.js";
import { resolveWorkspaceRef } from "./workspace-names.js";
import type { ForkWorkspaceInput } from "./workspace-fork.js";

export type { ManagerOptions } from "./manager-base.js";

/**
 * The pyro runtime. Stateless between calls: everything lives under `baseDir`, so any
 * number of managers in any number of processes can work on the same sandboxes. Each
 * method forwards to the module of its feature; the state and the helpers they share are
 * in manager-base.ts.
 */
export class Manager extends ManagerBase {
  // ---- one-shot VMs -------------------------------------------------------------------

  /** The catalogue, with what is pulled into the cache (quick check: sizes and stamps). */
  listEnvironments() {
    return listEnvironments(this.context, this.environmentCacheDir);
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

  async createVm(input: vms.CreateVmInput = {}) {
    return vmPayload(await vms.createVm(this.context, input));
  }

  async startVm(vmId: string, options?: ProgressOptions) {
    return vmPayload(await vms.startVm(this.context, vmId, options));
  }

  execVm(vmId: string, input: vms.ExecVmInput, options?: { signal?: AbortSignal }) {
    return vms.execVm(this.context, vmId, input, options);
  }

  async stopVm(vmId: string) {
    return vmPayload(await vms.stopVm(this.context, vmId));
  }

  deleteVm(vmId: string) {
    return vms.deleteVm(this.context, vmId);
  }

  async statusVm(vmId: string) {
    return vmPayload(await vms.loadLiveVm(this.context, vmId));
  }

  networkInfoVm(vmId: string) {
    return vms.networkInfoVm(this.context, vmId);
  }

  /** create + start + exec (+ delete, which exec does); the VM is deleted even on failure. */
  runVm(input: vms.RunVmInput, options?: ProgressOptions & { signal?: AbortSignal }) {
    return vms.runVm(this.context, input, options);
  }

  reapExpired() {
    return reapExpired(this.context);
  }

  // ---- workspaces ---------------------------------------------------------------------

  async createWorkspace(input: CreateWorkspaceInput = {}, options?: ProgressOptions) {
    // Expired workspaces are collected as new ones are made (as expired VMs are).
    await reapExpiredWorkspaces(this.context).catch(() => undefined);
    const record = await createWorkspace(this.context, input, options);
    return this.bootedWorkspaceView(record);
  }

  async statusWorkspace(workspaceId: string) {
    const record = await workspaces.refreshWorkspace(this.context, workspaceId);
    // Commands that finished in the background count (and show as last_command) once logged.
    if (await this.collectFinished(record)) {
      return this.workspaceView(await workspaces.refreshWorkspace(this.context, workspaceId));
    }
    return this.workspaceView(record);
  }

  execWorkspace(workspaceId: string, input: ExecWorkspaceInput, options?: CommandCallOptions) {
    return execWorkspace(this.context, workspaceId, input, options);
  }

  async logsWorkspace(workspaceId: string, input: workspaces.LogsWorkspaceInput = {}) {
    await this.collectFinished(await this.recordOrNull(workspaceId));
    return workspaces.logsWorkspace(this.context, workspaceId, input);
  }

  // ---- commands (src/core/commands.ts) ------------------------------------------------

  listCommands(workspaceId: string) {
    return commands.listCommands(this.context, workspaceId);
  }

  statusCommand(workspaceId: string, commandId: string) {
    return commands.statusCommand(this.context, workspaceId, commandId);
  }

  readCommand(
    workspaceId: string,
    commandId: string,
    input: commands.ReadCommandInput = {},
    options?: CommandCallOptions,
  ) {
    return commands.readCommand(this.context, workspaceId, commandId, input, options);
  }

  waitCommand(
    workspaceId: string,
    commandId: string,
    input: commands.WaitCommandInput = {},
    options?: CommandCallOptions,
  ) {
    return commands.waitCommand(this.context, workspaceId, commandId, input, options);
  }

  killCommand(workspaceId: string, commandId: string) {
    return commands.killCommand(this.context, workspaceId, commandId);
  }

  deleteWorkspace(workspaceId: string) {
    return workspaces.deleteWorkspace(this.context, workspaceId);
  }

  pushWorkspaceSync(workspaceId: string, input: { source_path: string; dest?: string }) {
    return workspaces.pushWorkspaceSync(this.context, workspaceId, input);
  }

  async diffWorkspace(workspaceId: string) {
    // jsdiff and node-tar load with the diff engine, on first use, not with the runtime.
    const { diffWorkspace } = await import("./diff-ops.js");
    return diffWorkspace(this.context, workspaceId);
  }

  exportWorkspace(workspaceId: string, input: { path: string; output_path: string }) {
    return workspaces.exportWorkspace(this.context, workspaceId, input);
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

  async resetWorkspace(id: string, input: { snapshot?: string } = {}, options?: ProgressOptions) {
    return this.bootedWorkspaceView(await resetWorkspace(this.context, id, input, options));
  }

  // ---- shells and services ----------------------------------------------------------
  // Shells and services live in the sandbox's agent; see src/core/shells.ts,
  // src/core/services.ts and docs/shells-and-services.md.

  openShell(workspaceId: string, input: shells.OpenShellInput = {}) {
    return shells.openShell(this.context, workspaceId, input);
  }

  readShell(workspaceId: string, shellId: string, input: shells.ReadShellInput = {}) {
    return shells.readShell(this.context, workspaceId, shellId, input);
  }

  writeShell(workspaceId: string, shellId: string, input: shells.WriteShellInput) {
    return shells.writeShell(this.context, workspaceId, shellId, input);
  }

  signalShell(workspaceId: string, shellId: string, input: shells.SignalShellInput = {}) {
    return shells.signalShell(this.context, workspaceId, shellId, input);
  }

  closeShell(workspaceId: string, shellId: string) {
    return shells.closeShell(this.context, workspaceId, shellId);
  }

  resizeShell(workspaceId: string, shellId: string, input: shells.ResizeShellInput = {}) {
    return shells.resizeShell(this.context, workspaceId, shellId, input);
  }

  /** `pyro run -it`: a terminal running `command` in a started one-shot VM (not in the catalogue). */
  openVmTerminal(vmId: string, input: { command: string; cols?: number; rows?: number }) {
    return terminals.openVmTerminal(this.context, vmId, input);
  }

  /** Reads, writes and resizes a terminal opened by openVmTerminal. */
  readVmTerminal(vmId: string, shellId: string, input: shells.ReadShellInput) {
    return terminals.readVmTerminal(this.context, vmId, shellId, input);
  }

  writeVmTerminal(vmId: string, shellId: string, input: shells.WriteShellInput) {
    return terminals.writeVmTerminal(this.context, vmId, shellId, input);
  }

  resizeVmTerminal(vmId: string, shellId: string, input: shells.ResizeShellInput) {
    return terminals.resizeVmTerminal(this.context, vmId, shellId, input);
  }

  startService(workspaceId: string, serviceName: string, input: services.StartServiceInput) {
    return services.startService(this.context, workspaceId, serviceName, input);
  }

  listServices(workspaceId: string) {
    return services.listServices(this.context, workspaceId);
  }

  statusService(workspaceId: string, serviceName: string) {
    return services.statusService(this.context, workspaceId, serviceName);
  }

  logsService(workspaceId: string, serviceName: string, input: services.LogsServiceInput = {}) {
    return services.logsService(this.context, workspaceId, serviceName, input);
  }

  stopService(workspaceId: string, serviceName: string) {
    return services.stopService(this.context, workspaceId, serviceName);
  }

  /** workspace_summary: a bounded review since the last reset (src/core/summary.ts). */
  async summarizeWorkspace(workspaceId: string) {
    await this.collectFinished(await this.recordOrNull(workspaceId));
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
    const record = await workspaces.refreshWorkspace(this.context, workspaceId);
    return this.workspaceView(await stopWorkspace(this.context, record, options));
  }

  /** Boots a stopped workspace again on its kept /workspace (no reset). */
  async startWorkspace(workspaceId: string, options?: ProgressOptions) {
    const record = await workspaces.refreshWorkspace(this.context, workspaceId);
    return this.workspaceView(await startWorkspace(this.context, record, options));
  }

  async listWorkspaces(input: ListWorkspacesInput = {}) {
    // Expired workspaces are collected before they are listed.
    await reapExpiredWorkspaces(this.context).catch(() => undefined);
    return listWorkspaces(this.context, input);
  }

  async updateWorkspace(workspaceId: string, input: UpdateWorkspaceInput) {
    await workspaces.refreshWorkspace(this.context, workspaceId);
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
  beginWorkspaceCall(workspaceId: string, options: { settleExpiry?: boolean } = {}) {
    return workspaces.beginWorkspaceCall(this.context, workspaceId, options);
  }

  /** Closes an operation on a workspace: its end is activity too (a long exec, a boot). */
  endWorkspaceCall(workspaceId: string): void {
    touchActivity(this.context.layout, workspaceId);
  }

  // ---- guest networking (src/core/network-log-ops.ts) ----------------------------------

  networkLogWorkspace(workspaceId: string, input: NetworkLogInput = {}) {
    return networkLogWorkspace(this.context, workspaceId, input);
  }

  /** workspace_fork: new workspaces from a point of this one (src/core/workspace-fork.ts). */
  async forkWorkspace(id: string, input: ForkWorkspaceInput = {}, options?: ProgressOptions) {
    await reapExpiredWorkspaces(this.context).catch(() => undefined); // as create does
    const { forkWorkspace } = await import("./workspace-fork.js");
    return forkWorkspace(this.context, id, input, options, (fork) =>
      this.bootedWorkspaceView(fork),
    );
  }
}
