/** A sandbox restored from its shape's template (templates.ts), and the build of one. */
import path from "node:path";

import type { BootArtifacts } from "../../environments/store.js";
import type { RuntimeRecord } from "../../store/records.js";
import type { SandboxSpec } from "../types.js";
import { QMP_SOCKET_NAME } from "./guest-net.js";
import { qemuArgs } from "./qemu-args.js";
import { qemuPaths, sweepRuntime, type QemuPaths } from "./runtime-files.js";
import { RESTORE_QMP_SOCKET_NAME, saveRunningGuest, shellQuote } from "./template-migration.js";
import { templateArgs, templateShape } from "./template-shape.js";
import type { TemplateStore } from "./templates.js";
import { launchVm, stopVm, type HeldSupervisor, type VmLaunch } from "./vm-launch.js";

/**
 * Restores the sandbox from its shape's template, building the template first if there is
 * none (under a lock: concurrent creates build it once). A template qemu failed to load
 * is thrown away, so the next create builds a good one.
 */
export async function restoreFromTemplate(
  templates: TemplateStore,
  boot: {
    spec: SandboxSpec;
    vm: VmLaunch;
    artifacts: BootArtifacts;
    args: string[];
    paths: QemuPaths;
    shape: { key: string; inputs: Record<string, unknown> };
    /** The private-discard guard qemu preloads (private-discard.ts); null: no balloon. */
    guard: string | null;
  },
  /**
   * Hands over the supervisor already loading in the sandbox's runtime directory
   * (prepareLaunch), taken only by the launch: a failed template build leaves it to the
   * cold boot that follows.
   */
  supervisor: () => HeldSupervisor | undefined,
): Promise<RuntimeRecord> {
  const { spec, vm, artifacts, args, paths, shape, guard } = boot;
  const balloon = guard !== null;
  const template = await templates.obtain(
    shape.key,
    shape.inputs,
    vm.bootTimeoutMs + 60_000,
    (buildDir) => buildTemplate(vm, spec, artifacts, buildDir, { key: shape.key, balloon }),
    (buildDir) => sweepRuntime(qemuPaths(buildDir)),
  );
  try {
    const launch = {
      args: [
        ...templateArgs(args, spec.memMib, template.ram, { share: false, balloon }),
        ...["-qmp", `unix:${RESTORE_QMP_SOCKET_NAME},server=on,wait=off`],
        ...["-incoming", "defer"],
      ],
      disk: { backing: template.disk },
      timeoutMs: restoreTimeout(vm.bootTimeoutMs),
      expiresAt: spec.expiresAt,
      restore: {
        template_key: template.key,
        sandbox_id: spec.sandboxId,
        qmp_socket: path.join(paths.runtimeDir, RESTORE_QMP_SOCKET_NAME),
        incoming_uri: `exec:cat ${shellQuote(template.state)}`,
        private_discard: guard === null ? null : { library: guard, ram_file: template.ram },
      },
    };
    const runtime = await launchVm(vm, paths, launch, supervisor());
    return { ...runtime, boot_mode: "template", template_fallback: null };
  } catch (error) {
    // qemu refused the state (damaged, or from another qemu): never try it again. A
    // timeout (a loaded host) says nothing against the template and keeps it.
    if (/qemu \(pid \d+\) exited with code/.test((error as Error).message)) {
      templates.invalidate(template.key);
    }
    throw error;
  }
}

/**
 * Builds a template in `buildDir`: a cold boot of the sandbox's shape with its RAM a file
 * (`ram.tmp`, mapped shared: see templateArgs) and a QMP socket, saved while running (the
 * devices only: the RAM is already in the file). The VM is stopped afterwards; its disk
 * overlay becomes the template's disk.
 */
async function buildTemplate(
  vm: VmLaunch,
  spec: SandboxSpec,
  artifacts: BootArtifacts,
  buildDir: string,
  { key, balloon }: { key: string; balloon: boolean },
): Promise<{ state: string; disk: string; ram: string }> {
  const paths = qemuPaths(buildDir);
  // The template's volume is a throwaway placeholder, never mounted: every restore
  // attaches its own volume at the same device and mounts it after the refresh.
  const volume = { file: paths.scratchVolume, scratchOf: vm.emptyVolume, mount: false };
  const args = qemuArgs(spec, artifacts, { ...paths, volume: volume.file }, vm.accel);
  const check = templateShape(
    vm.qemu,
    vm.accel,
    artifacts,
    args,
    { ...paths, volume: volume.file },
    balloon,
  );
  if (check.key !== key) throw new Error("the template build's shape differs from the sandbox's");
  // Relative to qemu's working directory, the runtime directory (a path too long for
  // sun_path is reached through the directory by the QMP client).
  const qmpSocket = path.join(paths.runtimeDir, QMP_SOCKET_NAME);
  const ram = path.join(buildDir, "ram.tmp");
  let runtime: RuntimeRecord | null = null;
  try {
    // The build's VM is no workspace's: no activity file, no network (templateShape).
    runtime = await launchVm({ ...vm, activityFile: null, network: null, volume }, paths, {
      args: [
        // Shared: a page the building guest reports free is punched out of its own file.
        ...templateArgs(args, spec.memMib, ram, { share: true, balloon }),
        ...["-qmp", `unix:${QMP_SOCKET_NAME},server=on,wait=off`],
      ],
      disk: { backing: null },
      timeoutMs: vm.bootTimeoutMs,
      // A builder killed mid-build leaves this VM; its supervisor ends it soon anyway.
      expiresAt: Date.now() / 1000 + (vm.bootTimeoutMs + 120_000) / 1000,
      restore: null,
    });
    const state = path.join(buildDir, "state.tmp");
    await saveRunningGuest(qmpSocket, state);
    return { state, disk: paths.overlay, ram };
  } finally {
    if (runtime) await stopVm(runtime);
  }
}

/**
 * A restore that takes this long is abandoned for a cold boot. The boot's own deadline: a
 * restore is slow only on a loaded host, where a cold boot would be slower still (a third of
 * it, 20 s, was too short at load 12 on 2 cores, where restores took 15-20 s).
 */
function restoreTimeout(bootTimeoutMs: number): number {
  return bootTimeoutMs;
}
