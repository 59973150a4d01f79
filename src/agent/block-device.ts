import fs from "node:fs";
import path from "node:path";

/**
 * The guest's virtio-blk device node (/dev/vdX) whose serial is `serial`, or null. The host
 * names its disks by serial (the transfer disk, the workspace volume) because the order the
 * guest's kernel numbers them in is not a contract.
 */
export function findBlockDevice(serial: string, sysBlock = "/sys/block"): string | null {
  let names: string[];
  try {
    names = fs.readdirSync(sysBlock);
  } catch {
    return null;
  }
  for (const name of names) {
    try {
      const found = fs.readFileSync(path.join(sysBlock, name, "serial"), "utf8").trim();
      if (found === serial) return path.join("/dev", name);
    } catch {
      // not a virtio-blk device, or no serial
    }
  }
  return null;
}
