/**
 * The workspace volume (docs/qemu-backend.md, "Workspace volumes"): /workspace of a qemu
 * guest on its own virtio-blk device, an ext4 filesystem with no partition table, whose
 * copy-on-write layers on the host are the workspace's snapshots.
 */

/** The virtio-blk serial the guest agent finds the volume by (/sys/block/vd*\/serial). */
export const WORKSPACE_VOLUME_SERIAL = "pyro-workspace";
