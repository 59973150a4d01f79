import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";

import {
  createArchive,
  exportPath,
  extractArchive,
  extractPrevalidatedArchive,
} from "../archive/index.js";
import { encodeManifestLine, manifestFromDirectory, type DigestCache } from "../diff/index.js";
import { PyroError, ValidationError } from "../errors.js";
import type { AgentContext } from "./context.js";
import { numberField, stringField } from "./context.js";
import { runCommand } from "./exec.js";
import { streamProduced, withScratch } from "./transfer.js";

/** Upper bound for one uploaded archive; a guest disk is not infinite either. */
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024 * 1024;

export function registerCoreHandlers(context: AgentContext): void {
  const { handlers, paths } = context;
  // Digests of /workspace files from earlier manifests, valid while stamps match.
  const digestCache: DigestCache = new Map();

  handlers.set("exec", async ({ body }) => {
    const command = stringField(body, "command");
    if (!command || command.trim() === "") {
      throw new ValidationError("command must not be empty");
    }
    const cwd = paths.resolve(stringField(body, "cwd") ?? "/workspace", "cwd");
    const stat = await fs.stat(cwd.local).catch(() => null);
    if (!stat?.isDirectory()) {
      throw new ValidationError(`cwd does not exist or is not a directory: '${cwd.guest}'`, {
        field: "cwd",
      });
    }
    const env = body.env;
    const result = await runCommand({
      command,
      cwd: cwd.local,
      env: isStringRecord(env) ? env : undefined,
      timeoutSeconds: numberField(body, "timeout_seconds") ?? 30,
      maxOutputBytes: numberField(body, "max_output_bytes"),
    });
    return { ...result, cwd: cwd.guest };
  });

  handlers.set("archive.import", async ({ body, upload }) => {
    if (!upload) throw new ValidationError("archive.import needs an uploaded archive");
    const destination = paths.resolve(
      stringField(body, "destination") ?? "/workspace",
      "destination",
    );
    return withScratch(context.scratchDir, "import.tar", async (scratch) => {
      await pipeline(upload, byteLimit(MAX_UPLOAD_BYTES), createWriteStream(scratch));
      await fs.mkdir(destination.local, { recursive: true });
      if (body.host_validated === true && context.trustsHostValidation) {
        await assertEmptyDirectory(destination.local, destination.guest);
        await extractPrevalidatedArchive(scratch, destination.local);
        return { destination: destination.guest, validated_by: "host" };
      }
      const summary = await extractArchive(scratch, destination.local);
      return {
        destination: destination.guest,
        validated_by: "agent",
        entry_count: summary.entryCount,
        bytes_written: summary.totalBytes,
      };
    });
  });

  // The comparable entries of a tree with digests, as NDJSON data frames: the cheap
  // half of workspace_diff (only changed files travel afterwards, via files.read).
  handlers.set("tree.manifest", async ({ body, sendData }) => {
    const target = paths.resolve(stringField(body, "path") ?? "/workspace", "path");
    const manifest = await manifestFromDirectory(
      target.local,
      target.guest === "/workspace" ? digestCache : undefined,
    );
    let batch = "";
    for (const [entryPath, entry] of manifest) {
      batch += `${encodeManifestLine(entryPath, entry)}\n`;
      if (batch.length >= 128 * 1024) {
        await sendData(Buffer.from(batch, "utf8"));
        batch = "";
      }
    }
    if (batch !== "") await sendData(Buffer.from(batch, "utf8"));
    return { path: target.guest, entry_count: manifest.size };
  });

  // A tar of the named regular files under /workspace (missing or non-file paths are
  // left out and listed), for diff patches without exporting the whole tree.
  handlers.set("files.read", async ({ body, sendData }) => {
    const requested = body.paths;
    if (!Array.isArray(requested) || !requested.every((item) => typeof item === "string")) {
      throw new ValidationError("paths must be a list of strings");
    }
    const present: string[] = [];
    const missing: string[] = [];
    for (const raw of requested as string[]) {
      const target = paths.resolve(raw, "paths");
      const stat = await fs.lstat(target.local).catch(() => null);
      if (stat?.isFile() && target.relative !== "") present.push(target.relative);
      else missing.push(target.guest);
    }
    if (present.length === 0) return { count: 0, missing };
    await streamProduced(context.scratchDir, "files.tar", sendData, (fifo) =>
      createArchive({ cwd: paths.root, entries: present, file: fifo }),
    );
    return { count: present.length, missing };
  });

  handlers.set("archive.export", async ({ body, sendData }) => {
    const target = paths.resolve(stringField(body, "path") ?? "/workspace", "path");
    const { result: exported, size } = await streamProduced(
      context.scratchDir,
      "export.tar",
      sendData,
      (fifo) => exportPath({ root: paths.root, relativePath: target.relative || ".", file: fifo }),
    );
    return {
      path: target.guest,
      artifact_type: exported.artifact_type,
      entry_count: exported.entry_count,
      size_bytes: size,
    };
  });
}

/**
 * Host validation says nothing about what is already on disk (a symlink in /workspace
 * could redirect a member), so it is only trusted for a destination with nothing in it.
 */
async function assertEmptyDirectory(local: string, guest: string): Promise<void> {
  const entries = await fs.readdir(local);
  if (entries.length > 0) {
    throw new ValidationError(
      `host_validated archives are only restored into an empty directory; '${guest}' has ${entries.length} entries`,
      { destination: guest },
    );
  }
}

function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) {
        callback(
          new PyroError("limit_exceeded", `uploaded archive exceeds the ${limit}-byte limit`),
        );
        return;
      }
      callback(null, chunk);
    },
  });
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === "string")
  );
}
