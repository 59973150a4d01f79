import { AGENT_PORT_NAME } from "../../environments/catalog.js";
import type { BootArtifacts } from "../../environments/store.js";
import { inheritedSocketAddress } from "../../protocol/socket-address.js";
import { TRANSFER_DISK_SERIAL } from "../../shared/transfer-disk.js";
import { WORKSPACE_VOLUME_SERIAL } from "../../shared/workspace-volume.js";
import type { SandboxSpec } from "../types.js";
import { hostTscKhz, type Accelerator } from "./detect.js";
import { guestNetworkArgs, guestNetworkCmdline } from "./guest-net.js";
import type { QemuPaths } from "./runtime-files.js";
import { VOLUME_DRIVE_ID, VOLUME_QMP_SOCKET_NAME } from "./volume-ops.js";

/**
 * TCG's translated-code cache. QEMU's default (1 GiB) stays resident once a build filled
 * it, which was most of an idle guest's host memory; a smaller cache is flushed and refilled
 * more often (see docs/qemu-backend.md for the measured trade).
 */
const TCG_CODE_CACHE_MIB = 128;

/**
 * TCG's CPU model: everything TCG emulates (`max`) except fast string moves. With ERMS (or
 * FSRM) the guest's kernel copies and clears memory with `rep movsb`/`rep stosb` and glibc
 * uses `rep movsb` for large copies; TCG runs a rep-prefixed string instruction one element
 * per step, which made every copy between the page cache and a program about 2x slower, and
 * clearing memory 7x slower, than the vector or 8-byte loops the guest picks without the
 * flags (docs/qemu-backend.md, "The CPU model under TCG"). KVM runs the host's CPU as is.
 */
const TCG_CPU = "max,-erms,-fsrm";
/** The descriptor under which qemu inherits its runtime directory when paths are too long. */
export const QEMU_RUNTIME_DIR_FD = 3;
/** The qemu command line of one sandbox (exported for `doctor` and the benchmark). */
export function qemuArgs(
  spec: Pick<SandboxSpec, "vcpuCount" | "memMib">,
  artifacts: Pick<BootArtifacts, "kernel" | "initramfs">,
  paths: Pick<QemuPaths, "overlay" | "guestSocket" | "consoleLog"> &
    Partial<Pick<QemuPaths, "transferDisk">> & {
      /** The workspace volume's file (volume-store.ts): its top, or a throwaway one. */
      volume?: string;
    },
  accel: Accelerator,
  /** A network policy other than `off` (guest-net.ts); `socat` connects qemu to the proxy. */
  network?: Pick<SandboxSpec, "networkPolicy" | "allowHosts"> & { socat: string },
): string[] {
  const cmdline = [
    "console=ttyS0",
    "quiet",
    "loglevel=3",
    // A panic (the agent, PID 1's child, died) ends the VM instead of hanging it.
    "panic=-1",
    `pyro.epoch=${Math.floor(Date.now() / 1000)}`,
    // Free page reporting gives back free blocks of 2^order pages: with the allocator's
    // shuffling off, freed memory stays in large blocks, and 256 KiB ones are reported too.
    "page_alloc.shuffle=0",
    "page_reporting.page_reporting_order=6",
  ];
  // A runtime directory too deep for sun_path reaches qemu as its fd 3 (supervisor.ts).
  const guestSocket =
    inheritedSocketAddress(paths.guestSocket, QEMU_RUNTIME_DIR_FD) ?? paths.guestSocket;
  const tscKhz = accel === "tcg" ? hostTscKhz() : null;
  if (tscKhz !== null) cmdline.push(`tsc_early_khz=${tscKhz}`);
  // TCG's TSC follows the host's clock, but the kernel's clocksource watchdog checks it
  // against jiffies, which fall behind when the host is busy: it then called the TSC
  // unstable and fell back to refined-jiffies (1 boot in 20 under load), a clock that
  // loses time with every missed tick. Trust the TSC and keep it.
  if (accel === "tcg") cmdline.push("clocksource=tsc", "tsc=reliable");
  // TCG finds a translation by the guest's virtual address: with address-space layout
  // randomization every process maps libc and its program somewhere new, so each one's code
  // was translated again (a `true` cost 24-36 ms instead of 4-7, and a diff's three tools
  // 35-45 MB of new code). The guest's isolation is the VM, not its own ASLR; a guest can
  // turn it back on (docs/qemu-backend.md, "Address-space randomization under TCG").
  if (accel === "tcg") cmdline.push("norandmaps");
  if (network) cmdline.push(...guestNetworkCmdline(network.networkPolicy));
  return [
    ...["-M", "microvm,acpi=on,rtc=on"],
    ...["-accel", accel === "tcg" ? `tcg,tb-size=${TCG_CODE_CACHE_MIB}` : accel],
    ...["-cpu", accel === "kvm" ? "host" : TCG_CPU],
    ...["-smp", String(spec.vcpuCount)],
    ...["-m", `${spec.memMib}M`],
    "-nodefaults",
    "-no-user-config",
    ...["-display", "none"],
    "-no-reboot",
    ...["-kernel", artifacts.kernel],
    ...["-initrd", artifacts.initramfs],
    ...["-append", cmdline.join(" ")],
    ...["-serial", `file:${paths.consoleLog}`],
    ...["-drive", `id=root,file=${paths.overlay},format=qcow2,if=none,cache=unsafe,discard=unmap`],
    ...["-device", "virtio-blk-device,drive=root"],
    ...["-device", "virtio-serial-device,max_ports=2"],
    ...["-chardev", `socket,id=agent,path=${guestSocket},server=on,wait=off`],
    ...["-device", `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`],
    ...["-device", "virtio-rng-device"],
    // Pages the guest frees are reported and given back to the host (madvise), so an idle
    // guest does not keep the memory of its last build. Migratable, unlike virtio-fs/9p.
    ...["-device", "virtio-balloon-device,free-page-reporting=on"],
    // The transfer disk (after the root disk, so the root stays /dev/vda). cache=writeback
    // goes through the host's page cache, which the host's own reads and writes share.
    ...(paths.transferDisk
      ? [
          ...[
            "-drive",
            `id=transfer,file=${paths.transferDisk},format=raw,if=none,cache=writeback,aio=threads,discard=unmap`,
          ],
          ...["-device", `virtio-blk-device,drive=transfer,serial=${TRANSFER_DISK_SERIAL}`],
        ]
      : []),
    // The workspace volume (after root and transfer: /dev/vdc), and the monitor the host
    // seals its points through (volume-ops.ts).
    ...(paths.volume
      ? [
          ...[
            "-drive",
            `id=${VOLUME_DRIVE_ID},file=${paths.volume},format=qcow2,if=none,cache=writeback,discard=unmap`,
          ],
          ...[
            "-device",
            `virtio-blk-device,drive=${VOLUME_DRIVE_ID},serial=${WORKSPACE_VOLUME_SERIAL}`,
          ],
          ...["-qmp", `unix:${VOLUME_QMP_SOCKET_NAME},server=on,wait=off`],
        ]
      : []),
    ...(network ? guestNetworkArgs(network.networkPolicy, network.allowHosts, network.socat) : []),
  ];
}
