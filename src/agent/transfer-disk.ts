/**
 * The guest's half of the transfer disk (see src/shared/transfer-disk.ts): a tar the host
 * wrote at the start of the disk is extracted straight from it, and an export is written to
 * it, both by native tools (dd with O_DIRECT, GNU tar): the data never passes through the
 * agent's emulated JavaScript, and an upload needs no staging copy on the guest's disk (the
 * transfer disk is the staging area).
 *
 * The host validated the archive member by member and sends its canonical re-write
 * (canonical.ts), as for a fresh /workspace; what host validation cannot know is the
 * guest's own tree, so for a destination that is not a fresh /workspace the agent runs the
 * destination checks (no member written through an existing symlink) the host sends along.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";

import { checkDestination, exportPath } from "../archive/index.js";
import { PyroError, ValidationError } from "../errors.js";
import { sharedFdPath, withFd } from "../no-follow.js";
import { TRANSFER_BLOCK_BYTES, TRANSFER_DISK_SERIAL } from "../shared/transfer-disk.js";
import type { AgentReply } from "../protocol/operations.js";
import { findBlockDevice } from "./block-device.js";
import type { AgentContext } from "./context.js";
import { helperStep } from "./sys-helper.js";
import { scratchFifo } from "./transfer.js";

/** The transfer disk's device node (/dev/vdX), found by its serial; null without one. */
export function findTransferDisk(): string | null {
  return findBlockDevice(TRANSFER_DISK_SERIAL);
}

/** GNU tar's extraction options, the same as extractWithGnuTar's. */
const TAR_EXTRACT_OPTIONS = [
  "--no-same-owner",
  "--warning=no-unknown-keyword",
  "--warning=no-timestamp",
];

/**
 * Registers archive.import_disk and archive.export_disk. One transfer at a time: the host
 * serialises them with a lock file; a second one arriving anyway (a host that lost its lock)
 * is refused rather than allowed to overwrite the first's data.
 */
export function registerTransferDiskHandlers(
  context: AgentContext,
  device: string,
  hooks: { workspaceRestored: () => void },
): void {
  const { handlers, paths } = context;
  let busy = false;
  const exclusive = async <T>(use: () => Promise<T>): Promise<T> => {
    if (busy) throw new PyroError("busy", "the transfer disk is in use by another transfer");
    busy = true;
    try {
      return await use();
    } finally {
      busy = false;
    }
  };

  handlers.set("archive.import_disk", ({ body }) =>
    exclusive(async () => {
      const destination = paths.resolve(body.destination ?? "/workspace", "destination");
      const { bytes } = body;
      if (!Number.isSafeInteger(bytes) || bytes < 0) {
        throw new ValidationError(`bytes must be a non-negative integer, got ${bytes}`, {
          field: "bytes",
        });
      }
      const fresh = body.fresh === true;
      // Opened without following links, as archive.import does; extraction works in it.
      const dest = paths.openDirectory(destination, "dest", { create: true });
      return withFd(dest, async (fd): Promise<AgentReply<"archive.import_disk">> => {
        const local = sharedFdPath(fd);
        if (fresh) await assertEmpty(local, destination.guest);
        else {
          await checkDestination(local, {
            prefixes: body.prefixes ?? [],
            directories: body.directories ?? [],
          });
        }
        if (bytes > 0) await extractFromDisk(device, local);
        if (fresh && bytes > 0 && destination.guest === "/workspace") hooks.workspaceRestored();
        return { destination: destination.guest, validated_by: "host" };
      });
    }),
  );

  handlers.set("archive.export_disk", ({ body }) =>
    exclusive(async () => {
      const target = paths.resolve(body.path ?? "/workspace", "path");
      const fifo = scratchFifo(context.scratchDir, "export-disk.fifo");
      try {
        // dd opens the FIFO for reading before the producer opens it for writing.
        const writer = writeToDisk(fifo, device);
        let exported;
        try {
          exported = await exportPath({
            root: paths.root,
            relativePath: target.relative || ".",
            file: fifo,
            // Records of dd's block: 1 MiB per write into the FIFO instead of 10 KiB.
            recordBlocks: TRANSFER_BLOCK_BYTES / 512,
          });
        } catch (error) {
          writer.kill();
          await writer.done.catch(() => undefined);
          throw error;
        }
        // A producer that wrote nothing never opened the FIFO: dd must still see its end.
        closeWriterEnd(fifo);
        const size = await writer.done;
        return {
          path: target.guest,
          artifact_type: exported.artifact_type,
          entry_count: exported.entry_count,
          size_bytes: size,
        };
      } finally {
        fs.rmSync(fifo, { force: true });
      }
    }),
  );
}

async function assertEmpty(local: string, guest: string): Promise<void> {
  const entries = await fs.promises.readdir(local);
  if (entries.length > 0) {
    throw new ValidationError(
      `host_validated archives are only restored into an empty directory; '${guest}' has ${entries.length} entries`,
      { destination: guest },
    );
  }
}

/**
 * GNU tar reads the device itself, in 1 MiB records, and stops at the archive's end marker:
 * two copies by the (emulated) guest CPU, page cache to tar and tar to the file, against
 * three through a `dd | tar` pipe. The device's page cache is dropped before (it may hold an
 * earlier transfer's blocks, which the host has since overwritten) and after (so the guest
 * does not keep a second copy of the upload in memory), through the system call helper:
 * `sh` and two `blockdev`s around tar were three more programs to start, each translated
 * by TCG (sys-helper.ts).
 */
async function extractFromDisk(device: string, root: string): Promise<void> {
  const flush = (): Promise<void> =>
    helperStep(["flushbufs", device], ["blockdev", "--flushbufs", device]);
  await flush();
  const records = String(TRANSFER_BLOCK_BYTES / 512);
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(
        "tar",
        ["-x", "-b", records, "-f", device, "-C", root, ...TAR_EXTRACT_OPTIONS],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let text = "";
      child.stderr.on("data", (chunk: Buffer) => (text = (text + chunk.toString()).slice(-4000)));
      child.once("error", reject);
      child.once("close", (status) => resolve({ code: status ?? 1, stderr: text }));
    },
  );
  // Best effort: a cache left behind costs guest memory, never correctness (the next
  // import drops it first).
  await flush().catch(() => undefined);
  if (code !== 0) {
    const detail = stderr.trim().split("\n")[0] || `tar exited with code ${String(code)}`;
    const full = /No space left on device/.test(stderr);
    throw new PyroError(
      full ? "no_space" : "internal",
      `failed to extract the uploaded archive: ${detail}`,
    );
  }
}

/**
 * `dd` from the FIFO to the disk: whole 1 MiB blocks with O_DIRECT (dd drops it for the final
 * partial block), flushed before it exits; resolves with the byte count dd reports.
 */
function writeToDisk(fifo: string, device: string): { done: Promise<number>; kill: () => void } {
  const child = spawn(
    "dd",
    [
      `if=${fifo}`,
      `of=${device}`,
      `bs=${TRANSFER_BLOCK_BYTES}`,
      "iflag=fullblock",
      "oflag=direct",
      "conv=fsync,notrunc",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const done = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      const copied = /^(\d+) bytes/m.exec(stderr);
      if (code === 0 && copied) {
        resolve(Number(copied[1]));
        return;
      }
      const full = /No space left on device/.test(stderr);
      reject(
        new PyroError(
          full ? "limit_exceeded" : "internal",
          full
            ? "the export is larger than the transfer disk"
            : `writing the export to the transfer disk failed: ${stderr.trim().split("\n").pop() ?? ""}`,
          full ? { limit: "transfer_disk_bytes" } : {},
        ),
      );
    });
  });
  done.catch(() => undefined);
  return { done, kill: () => child.kill("SIGKILL") };
}

/** Opens and closes the FIFO's writing end, so a reader still waiting sees the end. */
function closeWriterEnd(fifo: string): void {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch {
    // no reader left: it is done
  }
}
