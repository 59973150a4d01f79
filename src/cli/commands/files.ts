import fs from "node:fs";

import type { Command } from "commander";

import { NotFoundError, ValidationError } from "../../errors.js";
import {
  addJsonOption,
  flag,
  numberFlag,
  runOperation,
  withExample,
  type JsonOption,
} from "../output.js";

/**
 * `pyro workspace file …` and `pyro workspace patch apply`: single files of a started
 * workspace (src/operations/files.ts); `pyro workspace disk …`: a stopped guest's disk.
 */
export function registerFileCommands(workspace: Command): void {
  const file = workspace
    .command("file")
    .description("List, read and write single files under /workspace of a started workspace.");
  withExample(
    file,
    "pyro workspace file list WORKSPACE_ID src --recursive",
    "pyro workspace file read WORKSPACE_ID src/main.c",
    "pyro workspace file write WORKSPACE_ID notes.txt --text 'hello'",
  );

  const list = file
    .command("list")
    .description(
      "List a directory under /workspace (type, size, mode, mtime; symlinks with their target).",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("[path]", "directory or file under /workspace (default /workspace)")
    .option("--recursive", "also list subdirectories");
  addJsonOption(list);
  withExample(list, "pyro workspace file list WORKSPACE_ID src --recursive");
  list.action(
    (id: string, guestPath: string | undefined, options: JsonOption & { recursive?: boolean }) =>
      runOperation(
        "workspace_file_list",
        { workspace_id: id, path: guestPath, recursive: flag(options.recursive) },
        options,
      ),
  );

  const read = file
    .command("read")
    .description(
      "Print a file under /workspace (its bytes as they are, binary too); a truncation note goes to stderr.",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<path>", "file under /workspace")
    .option("--max-bytes <n>", "read at most N bytes (default 65536, at most 1048576)", numberFlag);
  addJsonOption(read);
  withExample(
    read,
    "pyro workspace file read WORKSPACE_ID src/main.c",
    "pyro workspace file read WORKSPACE_ID logo.png --max-bytes 1048576 > logo.png",
  );
  read.action(
    (id: string, guestPath: string, options: JsonOption & { maxBytes?: number | string }) =>
      runOperation(
        "workspace_file_read",
        { workspace_id: id, path: guestPath, max_bytes: options.maxBytes },
        options,
        printFileContent,
      ),
  );

  const write = file
    .command("write")
    .description(
      "Write a whole file under /workspace (parents created, replaced atomically, symlinks refused).",
    )
    .argument("<workspace_id>", "workspace id")
    .argument("<path>", "file under /workspace")
    .option("--text <text>", "the new content")
    .option("--text-file <host_path>", "read the new content from a host file ('-' for stdin)")
    .option("--mode <octal>", "permission bits, e.g. 0755 (default: kept, 0644 for a new file)");
  addJsonOption(write);
  withExample(
    write,
    "pyro workspace file write WORKSPACE_ID notes.txt --text 'hello'",
    "pyro workspace file write WORKSPACE_ID bin/run.sh --text-file ./run.sh --mode 0755",
  );
  write.action(
    (
      id: string,
      guestPath: string,
      options: JsonOption & { text?: string; textFile?: string; mode?: string },
    ) => {
      if ((options.text === undefined) === (options.textFile === undefined)) {
        write.error("error: give exactly one of --text and --text-file");
      }
      const content =
        options.text !== undefined
          ? { text: options.text }
          : encodeHostContent(readHostInput(options.textFile as string, "--text-file"));
      return runOperation(
        "workspace_file_write",
        { workspace_id: id, path: guestPath, ...content, mode: options.mode },
        options,
      );
    },
  );

  const patch = workspace
    .command("patch")
    .description("Apply unified diffs to /workspace, all or nothing.");
  withExample(patch, "pyro workspace patch apply WORKSPACE_ID --patch-file fix.patch");
  const apply = patch
    .command("apply")
    .description(
      "Apply a unified diff (git diff / diff -u) to /workspace: every hunk of every file applies, or nothing changes.",
    )
    .argument("<workspace_id>", "workspace id")
    .option("--patch <text>", "the unified diff")
    .option("--patch-file <host_path>", "read the unified diff from a host file ('-' for stdin)");
  addJsonOption(apply);
  withExample(
    apply,
    "pyro workspace patch apply WORKSPACE_ID --patch-file fix.patch",
    "git diff | pyro workspace patch apply WORKSPACE_ID --patch-file -",
  );
  apply.action((id: string, options: JsonOption & { patch?: string; patchFile?: string }) => {
    if ((options.patch === undefined) === (options.patchFile === undefined)) {
      apply.error("error: give exactly one of --patch and --patch-file");
    }
    const text =
      options.patch ?? readHostInput(options.patchFile as string, "--patch-file").toString("utf8");
    return runOperation("workspace_patch_apply", { workspace_id: id, patch: text }, options);
  });
}

/** `pyro workspace disk …`: a stopped guest-backed workspace's disk, without booting it. */
export function registerDiskCommands(workspace: Command): void {
  const disk = workspace
    .command("disk")
    .description(
      "Export, list and read a stopped guest-backed workspace's disk without booting it.",
    );
  withExample(
    disk,
    "pyro workspace disk list WORKSPACE_ID src --recursive",
    "pyro workspace disk export WORKSPACE_ID --output ./workspace.ext4",
  );

  const exportDisk = disk
    .command("export")
    .description(
      "Write the disk as a raw ext4 image to a host path that must not exist (runtime-only paths scrubbed).",
    )
    .argument("<workspace_id>", "workspace id")
    .requiredOption("--output <host_path>", "exact host path of the image to create");
  addJsonOption(exportDisk);
  withExample(exportDisk, "pyro workspace disk export WORKSPACE_ID --output ./workspace.ext4");
  exportDisk.action((id: string, options: JsonOption & { output: string }) =>
    runOperation(
      "workspace_disk_export",
      { workspace_id: id, output_path: options.output },
      options,
    ),
  );

  const list = disk
    .command("list")
    .description("List a directory under /workspace on the disk.")
    .argument("<workspace_id>", "workspace id")
    .argument("[path]", "directory or file under /workspace (default /workspace)")
    .option("--recursive", "also list subdirectories");
  addJsonOption(list);
  withExample(list, "pyro workspace disk list WORKSPACE_ID src --recursive");
  list.action(
    (id: string, guestPath: string | undefined, options: JsonOption & { recursive?: boolean }) =>
      runOperation(
        "workspace_disk_list",
        { workspace_id: id, path: guestPath, recursive: flag(options.recursive) },
        options,
      ),
  );

  const read = disk
    .command("read")
    .description("Print a file under /workspace from the disk (its bytes as they are).")
    .argument("<workspace_id>", "workspace id")
    .argument("<path>", "file under /workspace")
    .option("--max-bytes <n>", "read at most N bytes (default 65536, at most 1048576)", numberFlag);
  addJsonOption(read);
  withExample(read, "pyro workspace disk read WORKSPACE_ID build.log --max-bytes 4096");
  read.action(
    (id: string, guestPath: string, options: JsonOption & { maxBytes?: number | string }) =>
      runOperation(
        "workspace_disk_read",
        { workspace_id: id, path: guestPath, max_bytes: options.maxBytes },
        options,
        printFileContent,
      ),
  );
}

/** A host file's bytes (or stdin's for '-'), with an error naming the flag. */
function readHostInput(hostPath: string, flagName: string): Buffer {
  try {
    return hostPath === "-" ? fs.readFileSync(0) : fs.readFileSync(hostPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const details = { field: flagName, value: hostPath };
    if (code === "ENOENT") {
      throw new NotFoundError(`${flagName} does not exist: '${hostPath}'`, details);
    }
    throw new ValidationError(
      `${flagName} cannot be read: '${hostPath}' (${(error as Error).message})`,
      details,
    );
  }
}

/** UTF-8 text as it is; anything else (binary) as base64. */
function encodeHostContent(bytes: Buffer): { text: string; encoding: "utf8" | "base64" } {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), encoding: "utf8" };
  } catch {
    return { text: bytes.toString("base64"), encoding: "base64" };
  }
}

/** A read file's bytes on stdout exactly (base64 decoded), a note on stderr when cut. */
function printFileContent(result: {
  content: string;
  encoding: "utf8" | "base64";
  truncated: boolean;
  returned_bytes: number;
  size_bytes: number;
}): void {
  process.stdout.write(
    result.encoding === "base64" ? Buffer.from(result.content, "base64") : result.content,
  );
  if (result.truncated) {
    process.stderr.write(
      `pyro: ${result.returned_bytes} of ${result.size_bytes} bytes shown; --max-bytes reads more\n`,
    );
  }
}
