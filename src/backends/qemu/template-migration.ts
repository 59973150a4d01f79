/** Saving a running guest for a template over QMP, and what a restore shares with it. */
import { sleep } from "../../process/process-group.js";
import { Qmp } from "./qmp.js";

/** The guest's RAM (a shared file) stays out of the migration stream (templateArgs). */
export const IGNORE_SHARED = [{ capability: "x-ignore-shared", state: true }];
/** A restoring qemu's QMP socket, in its runtime directory (not guest-net's qmp.sock). */
export const RESTORE_QMP_SOCKET_NAME = "restore-qmp.sock";

/** How long a save may take (37 MB for an idle 512 MiB TCG guest took 1.7 s). */
const SAVE_TIMEOUT_MS = 60_000;

/** Quotes a path for the shell qemu runs an `exec:` migration command with. */
export function shellQuote(file: string): string {
  return `'${file.replace(/'/g, "'\\''")}'`;
}

/**
 * Saves a running guest to `stateFile` over QMP: migration to `exec:cat > FILE` (QEMU 7.2
 * has no `file:` URI), at full speed (the default cap is 32 MiB/s). qemu stops the guest at
 * the end of the migration and flushes its disks, so the overlay is then the guest's disk
 * exactly as its memory knows it.
 */
export async function saveRunningGuest(qmpSocket: string, stateFile: string): Promise<void> {
  const qmp = await Qmp.connect(qmpSocket);
  try {
    await qmp.execute("migrate-set-capabilities", { capabilities: IGNORE_SHARED });
    await qmp.execute("migrate-set-parameters", { "max-bandwidth": 16 * 1024 * 1024 * 1024 });
    await qmp.execute("migrate", { uri: `exec:cat > ${shellQuote(stateFile)}` });
    const deadline = Date.now() + SAVE_TIMEOUT_MS;
    for (;;) {
      const info = (await qmp.execute("query-migrate")) as {
        status?: string;
        "error-desc"?: string;
      };
      if (info.status === "completed") return;
      if (info.status === "failed" || info.status === "cancelled") {
        throw new Error(`saving the guest failed: ${info["error-desc"] ?? info.status}`);
      }
      if (Date.now() > deadline)
        throw new Error(`saving the guest took over ${SAVE_TIMEOUT_MS} ms`);
      await sleep(50);
    }
  } finally {
    qmp.close();
  }
}
