/**
 * The transfer disk: a raw, sparse host file attached to every qemu guest as a second
 * virtio-blk device. Bulk archives travel through it instead of the virtio-serial port,
 * whose guest driver hands userspace at most one 4 KiB buffer per read (about 2 MB/s under
 * TCG). The host writes an upload at offset 0 and the guest reads it with O_DIRECT (one
 * virtqueue request per MiB, no stale guest page cache); an export goes the other way.
 * One transfer at a time per guest (a host lock file beside the disk serialises them).
 */

/** The virtio-blk serial the guest agent finds the device by (/sys/block/vd*\/serial). */
export const TRANSFER_DISK_SERIAL = "pyro-transfer";
/** The guest reads and writes the disk in blocks this large (dd bs=). */
export const TRANSFER_BLOCK_BYTES = 1024 * 1024;
