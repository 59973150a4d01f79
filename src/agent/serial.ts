import fs from "node:fs";
import path from "node:path";
import { Duplex } from "node:stream";

import { sleep } from "../process/process-group.js";

const PORTS_DIR = "/sys/class/virtio-ports";

/**
 * Finds the device of a named virtio-serial port. There is no udev in a pyro guest, so no
 * /dev/virtio-ports/NAME symlink: the name is read from sysfs instead.
 */
function findVirtioPort(name: string): string | null {
  let entries: string[];
  try {
    entries = fs.readdirSync(PORTS_DIR);
  } catch {
    return null;
  }
  for (const entry of entries) {
    try {
      if (fs.readFileSync(path.join(PORTS_DIR, entry, "name"), "utf8").trim() === name) {
        return path.join("/dev", entry);
      }
    } catch {
      // a port without a name
    }
  }
  return null;
}

/**
 * Serves a virtio-serial port forever, one host connection at a time. A read returns EOF
 * while no host side is connected (and when it goes away), so the port is closed and
 * reopened after a short pause: the agent survives the host supervisor restarting.
 * The port can be open only once, so one descriptor backs both directions.
 */
export async function serveVirtioPort(
  name: string,
  onConnection: (stream: Duplex) => void,
  log: (message: string) => void,
): Promise<never> {
  let announced = false;
  for (;;) {
    const device = findVirtioPort(name);
    if (!device) {
      if (!announced) log(`waiting for virtio port ${name}`);
      announced = true;
      await sleep(100);
      continue;
    }
    let fd: number;
    try {
      fd = fs.openSync(device, "r+");
    } catch (error) {
      log(`cannot open ${device}: ${(error as Error).message}`);
      await sleep(250);
      continue;
    }
    const receivedAny = await serveOnce(fd, onConnection);
    fs.closeSync(fd);
    // EOF straight away means no host is connected yet: poll gently until one is. A guest
    // restored from a template sees its old host go away and polls for the new one, so the
    // pause is also the restored guest's first reconnection delay: keep it short.
    if (!receivedAny) await sleep(50);
  }
}

function serveOnce(fd: number, onConnection: (stream: Duplex) => void): Promise<boolean> {
  return new Promise((resolve) => {
    let receivedAny = false;
    const readable = fs.createReadStream("", { fd, autoClose: false, highWaterMark: 256 * 1024 });
    const writable = fs.createWriteStream("", { fd, autoClose: false });
    const duplex = Duplex.from({ readable, writable });
    readable.once("end", () => duplex.destroy());
    duplex.once("close", () => resolve(receivedAny));
    duplex.on("error", () => duplex.destroy());
    onConnection(duplex);
    // After the server attached its own listener, so no chunk is emitted before it.
    duplex.once("data", () => (receivedAny = true));
  });
}
