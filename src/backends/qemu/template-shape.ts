/**
 * A sandbox's template key (templates.ts) and the qemu command line of a template's guest.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";

import type { BootArtifacts } from "../../environments/store.js";
import type { Accelerator } from "./detect.js";
import type { QemuPaths } from "./runtime-files.js";

/** The memory backend a template's guest runs on (its RAM is a file: see templateArgs). */
const RAM_BACKEND_ID = "pyro-ram";

/** Bumped when the layout or the restore protocol changes: older templates stop matching. */
export const TEMPLATE_FORMAT = 3;

/** A sandbox's template key, or why its shape cannot have a template. */
type TemplateShape =
  { key: string; inputs: Record<string, unknown> } | { key: null; reason: string };

/**
 * The key of a sandbox's shape. `args` is the sandbox's qemu command line; its own paths
 * (overlay, sockets, console, transfer disk) and the boot's epoch are replaced by
 * placeholders, so every sandbox of one shape shares the key.
 */
export function templateShape(
  qemu: string,
  accel: Accelerator,
  artifacts: Pick<BootArtifacts, "rootfs" | "manifest">,
  args: string[],
  paths: Pick<
    QemuPaths,
    "overlay" | "guestSocket" | "consoleLog" | "transferDisk" | "runtimeDir"
  > & {
    volume?: string;
  },
  /**
   * Whether restored guests keep the balloon: only when qemu preloads the private-discard
   * guard (private-discard.ts). The device set differs, so so does the key.
   */
  balloon: boolean,
): TemplateShape {
  if (process.env.PYRO_QEMU_TEMPLATES === "0") {
    // On by default since restores map the template's RAM copy-on-write (0.24x a cold boot
    // for create and reset, 0.40x its memory idle); the switch is for hosts that want every
    // sandbox cold-booted, and for tests of the cold-boot path.
    return {
      key: null,
      reason: "booted-guest templates are off (PYRO_QEMU_TEMPLATES=0)",
    };
  }
  if (args.includes("-netdev") || args.some((arg) => arg.startsWith("-nic"))) {
    // A NIC's backend (slirp's connections, host forwards) is not saved with the guest.
    return { key: null, reason: "sandboxes with a network device are not restored from templates" };
  }
  const shapeArgs = balloon ? args : withoutBalloon(args);
  // qemu's identity is its file's, not its `--version`: running it cost 60-80 ms in every
  // CLI process that creates, resets or forks, and an upgrade replaces the file anyway.
  const binary = fs.statSync(fs.realpathSync(qemu));
  const rootfs = fs.statSync(artifacts.rootfs);
  const { manifest } = artifacts;
  const normalized = shapeArgs.map((arg) =>
    arg
      .split(paths.overlay)
      .join("<overlay>")
      .split(paths.volume ?? "<volume>")
      .join("<volume>")
      .split(paths.transferDisk)
      .join("<transfer>")
      .split(paths.consoleLog)
      .join("<console>")
      .split(paths.guestSocket)
      .join("<guest-socket>")
      .split(paths.runtimeDir)
      .join("<runtime>")
      .replace(/pyro\.epoch=\d+/, "pyro.epoch=<now>")
      // The host's clock rate as /proc/cpuinfo shows it now; the saved guest already runs.
      .replace(/tsc_early_khz=\d+/, "tsc_early_khz=<host>")
      .replace(/\/proc\/self\/fd\/\d+\/[^,]*/, "<guest-socket>"),
  );
  const inputs: Record<string, unknown> = {
    format: TEMPLATE_FORMAT,
    qemu: { path: qemu, bytes: binary.size, mtime_ms: binary.mtimeMs, ino: binary.ino },
    accel,
    environment: manifest.name,
    kernel_sha256: manifest.kernel.sha256,
    initramfs_sha256: manifest.initramfs.sha256,
    rootfs_sha256: manifest.rootfs.sha256,
    // The agent is refreshed inside the image in place: the file's identity changes too.
    rootfs_file: { bytes: rootfs.size, mtime_ms: rootfs.mtimeMs, ino: rootfs.ino },
    agent_sha256: manifest.agent.sha256,
    device_set: digest(normalized.filter((_, index) => isDeviceOption(shapeArgs[index - 1]))),
    args: normalized,
  };
  return { key: digest(inputs).slice(0, 32), inputs };
}

/**
 * The qemu command line of a template's guest: the sandbox's, with its RAM a file
 * (`memory-backend-file`), RAM left out of the migration stream (`x-ignore-shared`), and a
 * balloon only where restores preload the private-discard guard.
 *
 * The build maps `ramFile` shared (`share=on`): the guest's memory is the file, and the
 * migration, with the `x-ignore-shared` capability (set over QMP on both sides: QEMU 7.2
 * has no command-line option for it), saves only the devices and ROMs. A restore maps the template's file privately
 * (`share=off`): QEMU skips RAM it shares only, but the stream carries none, so the guest
 * runs on the file as mapped. Pages it reads stay the file's page cache, shared by every
 * guest restored from it (host memory counted once); pages it writes are its own copies.
 * Nothing is loaded, nothing populated.
 *
 * The balloon: QEMU discards a reported or ballooned page of a file-backed RAM block by
 * punching a hole in the file (`ram_block_discard_range`), even for a private mapping (8.1
 * only added a warning; from 8.2 a `readonly=on` file refuses the discard instead, which
 * gives nothing back either). That would zero the template under every guest restored from
 * it, and a hostile guest can send reports or inflate on its own. A restore therefore keeps
 * the balloon only with the guard preloaded (src/native/private-discard.c), which turns
 * that punch into nothing, so QEMU's next step, dropping its own copies of the range, is
 * all that happens. Without the guard a restored guest does not give freed memory back.
 */
export function templateArgs(
  args: string[],
  memMib: number,
  ramFile: string,
  options: { share: boolean; balloon: boolean },
): string[] {
  return [
    ...(options.balloon ? args : withoutBalloon(args)),
    ...[
      "-object",
      `memory-backend-file,id=${RAM_BACKEND_ID},size=${memMib}M,mem-path=${ramFile.replace(/,/g, ",,")},share=${options.share ? "on" : "off"}`,
    ],
    ...["-machine", `memory-backend=${RAM_BACKEND_ID}`],
  ];
}

function withoutBalloon(args: string[]): string[] {
  const out: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === "-device" && args[index + 1]?.startsWith("virtio-balloon")) {
      index += 1;
      continue;
    }
    out.push(arg);
  }
  return out;
}

function isDeviceOption(option: string | undefined): boolean {
  return ["-device", "-drive", "-netdev", "-chardev", "-nic"].includes(option ?? "");
}

function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}
