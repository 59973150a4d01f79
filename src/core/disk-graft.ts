/**
 * workspace_disk_export of a workspace whose /workspace is its own volume: the exported
 * image is the root disk, as for any guest, with the volume's tree written into its
 * /workspace (debugfs, no mount), so the image holds what the guest saw. Hard links
 * become separate files and special files (fifos, devices) are left out.
 */
import fs from "node:fs/promises";
import path from "node:path";

import { ValidationError } from "../errors.js";
import { entryType, type Ext4Image, type ImageEntry } from "./disk-image.js";

interface Node {
  /** Path below the volume's root ("" for the root itself). */
  rel: string;
  entry: ImageEntry;
}

/** A name for debugfs's parser: double-quoted, a quote doubled. */
function quote(name: string): string {
  if (/[\n\r\0]/.test(name)) {
    throw new ValidationError(
      `workspace_disk_export cannot write a name with a line break into the image: ${JSON.stringify(name)}`,
      { field: "path", value: name },
    );
  }
  return `"${name.replace(/"/g, '""')}"`;
}

async function walk(volume: Ext4Image): Promise<Node[]> {
  const root = await volume.resolve("/", "path");
  const nodes: Node[] = [{ rel: "", entry: root }];
  for (let level = [nodes[0] as Node]; level.length > 0;) {
    const listed = await volume.listMany(level.map((node) => node.entry.inode));
    const next: Node[] = [];
    for (const parent of level) {
      for (const child of listed.get(parent.entry.inode) ?? []) {
        const node = { rel: `${parent.rel}/${child.name}`, entry: child };
        const type = entryType(child.mode);
        if (type === "other") continue;
        nodes.push(node);
        if (type === "directory") next.push(node);
      }
    }
    level = next;
  }
  return nodes;
}

/** Writes the volume's tree into `target`'s /workspace (emptied first); returns its entry count. */
export async function graftVolume(
  volume: Ext4Image,
  target: Ext4Image,
  staging: string,
): Promise<number> {
  const nodes = await walk(volume);
  const files = nodes.filter((node) => entryType(node.entry.mode) === "file");
  await fs.mkdir(staging, { recursive: true });
  try {
    // The contents out, named by inode (names of ours: safe for the parser).
    if (files.length > 0) {
      await volume.run(
        files.map(
          (node) => `dump <${node.entry.inode}> ${path.join(staging, String(node.entry.inode))}`,
        ),
      );
    }
    const stats = await volume.stat(nodes.map((node) => node.entry.inode));
    const commands: string[] = [];
    for (const node of nodes.slice(1)) {
      const parent = `/workspace${path.posix.dirname(node.rel) === "/" ? "" : path.posix.dirname(node.rel)}`;
      const name = quote(path.posix.basename(node.rel));
      commands.push(`cd ${quote(parent)}`);
      const type = entryType(node.entry.mode);
      if (type === "directory") commands.push(`mkdir ${name}`);
      else if (type === "file") {
        commands.push(`write ${path.join(staging, String(node.entry.inode))} ${name}`);
      } else {
        const stat = stats.get(node.entry.inode);
        const link = stat?.fastLink ?? (await volume.read(node.entry.inode, 4096)).toString("utf8");
        commands.push(`symlink ${name} ${quote(link)}`);
      }
    }
    // Modes and mtimes last, deepest first: creating an entry moves its parent's mtime.
    for (const node of [...nodes].reverse()) {
      const spec = quote(`/workspace${node.rel}`);
      const stat = stats.get(node.entry.inode);
      if (entryType(node.entry.mode) !== "symlink") {
        commands.push(`sif ${spec} mode 0${node.entry.mode.toString(8)}`);
      }
      commands.push(`sif ${spec} mtime ${Math.floor(stat?.mtime ?? 0)}`);
    }
    await target.run(commands, { write: true });
    return nodes.length - 1;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
