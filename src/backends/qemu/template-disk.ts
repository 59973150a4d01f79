import fs from "node:fs";
import path from "node:path";

import { runTool } from "../../environments/host-tools.js";

/**
 * The copy of a template's disk a stopped workspace keeps next to its own disk
 * (`<workspace dir>/disk.qcow2` backs onto it instead of onto the template).
 */
export const KEPT_TEMPLATE_LAYER = "disk-template.qcow2";

/**
 * A disk restored from a template backs onto the template's disk, which is removed when the
 * image or the agent changes (removeStale) or a restore from it fails. A workspace_stop
 * keeps the disk for later: it then gets its own copy of that layer (a few MB) and is
 * rebased onto it (`-u`: the same bytes, only the header's backing name changes).
 */
export async function detachFromTemplate(
  qemuImg: string,
  disk: string,
  sandboxDir: string,
): Promise<void> {
  if (!fs.existsSync(disk)) return;
  const { stdout } = await runTool(qemuImg, ["info", "-U", "--output=json", disk]);
  const info = JSON.parse(stdout) as Record<string, unknown>;
  const backing = info["full-backing-filename"] ?? info["backing-filename"];
  if (typeof backing !== "string" || !/\/templates\/[0-9a-f]{32}\/disk\.qcow2$/.test(backing)) {
    return;
  }
  const layer = path.join(sandboxDir, KEPT_TEMPLATE_LAYER);
  const temp = `${layer}.${process.pid}.tmp`;
  fs.copyFileSync(backing, temp, fs.constants.COPYFILE_FICLONE);
  fs.chmodSync(temp, 0o444);
  fs.renameSync(temp, layer);
  await runTool(qemuImg, ["rebase", "-u", "-F", "qcow2", "-b", layer, disk]);
}
