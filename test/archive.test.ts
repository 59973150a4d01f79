import { randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { NotFoundError, PyroError, UnsafeArchiveError, ValidationError } from "../src/errors.js";
import {
  archiveKind,
  createArchive,
  exportPath,
  extractArchive,
  extractExport,
  packDirectory,
  validateArchive,
} from "../src/archive/index.js";
import { normalizeMemberPath } from "../src/archive/members.js";
import { rawBlocks } from "./hostile-tar.js";
import { TAR_MODES, useTarMode } from "./tar-modes.js";

// ---------------------------------------------------------------------------------------

let work: string;

beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "pyro-archive-test-"));
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

function writeArchiveFile(name: string, data: Buffer): string {
  const file = path.join(work, name);
  writeFileSync(file, data);
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<PyroError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PyroError);
    return error as PyroError;
  }
  throw new Error("expected a rejection");
}

async function listMembers(file: string): Promise<string[]> {
  const names: string[] = [];
  await tar.t({ file, onReadEntry: (entry) => names.push(entry.path) });
  return names;
}

describe.each(TAR_MODES)(
  "validateArchive / extractArchive: refusals ($tar tar)",
  ({ tar: mode }) => {
    useTarMode(mode);
    it("refuses a '..' member and extracts nothing", async () => {
      const file = writeArchiveFile(
        "evil.tar",
        rawBlocks([
          { name: "good.txt", body: "fine" },
          { name: "../escape.txt", body: "escaped" },
        ]),
      );
      const destination = path.join(work, "dest");
      const error = await rejection(extractArchive(file, destination));
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(error.code).toBe("unsafe_archive");
      expect(error.message).toContain("unsafe archive member path: '../escape.txt'");
      expect(existsSync(path.join(work, "escape.txt"))).toBe(false);
      expect(existsSync(path.join(destination, "good.txt"))).toBe(false);
    });

    it("refuses '..' hidden in the middle of a path", async () => {
      const file = writeArchiveFile("evil.tar", rawBlocks([{ name: "a/../../x", body: "x" }]));
      const error = await rejection(validateArchive(file, {}));
      expect(error.message).toContain("unsafe archive member path: 'a/../../x'");
    });

    it("refuses an absolute member", async () => {
      const file = writeArchiveFile("evil.tar", rawBlocks([{ name: "/etc/x", body: "x" }]));
      const error = await rejection(extractArchive(file, path.join(work, "dest")));
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(error.message).toContain("unsafe archive member path: '/etc/x'");
    });

    it("refuses a Windows-rooted member that node-tar would strip", async () => {
      const file = writeArchiveFile("evil.tar", rawBlocks([{ name: "c:x", body: "x" }]));
      const error = await rejection(validateArchive(file, {}));
      expect(error.message).toContain("unsafe archive member path: 'c:x'");
    });

    it("refuses writing through a symlink member from earlier in the archive", async () => {
      const outside = path.join(work, "outside");
      mkdirSync(outside);
      const file = writeArchiveFile(
        "evil.tar",
        rawBlocks([
          { name: "linked", type: "2", linkname: outside },
          { name: "linked/note.txt", body: "pwned" },
        ]),
      );
      const destination = path.join(work, "dest");
      const error = await rejection(extractArchive(file, destination));
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(error.message).toContain("traverse through a symlinked path");
      expect(error.message).toContain(
        "archive member 'linked/note.txt' would traverse through a symlinked path 'linked'",
      );
      expect(readdirSync(outside)).toEqual([]);
      expect(existsSync(path.join(destination, "linked"))).toBe(false);
    });

    it("refuses writing through a symlink that already exists in the destination", async () => {
      const outside = path.join(work, "outside");
      const destination = path.join(work, "dest");
      mkdirSync(outside);
      mkdirSync(destination);
      symlinkSync(outside, path.join(destination, "linked"));
      const source = path.join(work, "src");
      mkdirSync(path.join(source, "linked"), { recursive: true });
      writeFileSync(path.join(source, "linked", "note.txt"), "pwned");
      const file = path.join(work, "a.tar");
      await createArchive({ cwd: source, entries: ["linked"], file });

      // Without a destination the archive itself is fine.
      await expect(validateArchive(file, {})).resolves.toMatchObject({ entryCount: 2 });
      const error = await rejection(extractArchive(file, destination));
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(error.message).toContain("traverse through a symlinked path 'linked'");
      expect(readdirSync(outside)).toEqual([]);
      expect(lstatSync(path.join(destination, "linked")).isSymbolicLink()).toBe(true);
    });

    it.each([
      ["character device", "3"],
      ["fifo", "6"],
      ["block device", "4"],
      ["sparse file (ignored by node-tar)", "S"],
      ["unknown type flag", "Z"],
    ])("refuses a %s member", async (_label, type) => {
      const file = writeArchiveFile(
        "evil.tar",
        rawBlocks([
          { name: "ok.txt", body: "ok" },
          { name: "special", type },
        ]),
      );
      const destination = path.join(work, "dest");
      const error = await rejection(extractArchive(file, destination));
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(error.message).toContain("unsupported archive member type");
      expect(existsSync(path.join(destination, "ok.txt"))).toBe(false);
    });

    it("refuses a hard link to '../x'", async () => {
      const file = writeArchiveFile(
        "evil.tar",
        rawBlocks([{ name: "h", type: "1", linkname: "../x" }]),
      );
      const error = await rejection(extractArchive(file, path.join(work, "dest")));
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(error.message).toContain("unsafe archive member path");
      expect(error.message).toContain("'h'");
      expect(error.message).toContain("'../x'");
    });

    it("refuses an absolute hard link and one to a member not seen before it", async () => {
      const absolute = writeArchiveFile(
        "abs.tar",
        rawBlocks([{ name: "h", type: "1", linkname: "/etc/passwd" }]),
      );
      expect((await rejection(validateArchive(absolute, {}))).message).toContain(
        "unsafe archive member path",
      );
      const later = writeArchiveFile(
        "later.tar",
        rawBlocks([
          { name: "h", type: "1", linkname: "target.txt" },
          { name: "target.txt", body: "t" },
        ]),
      );
      const error = await rejection(validateArchive(later, {}));
      expect(error.message).toContain("unsafe archive member path: hard link 'h'");
    });

    it("refuses a hard link to an existing file in the destination that is not in the archive", async () => {
      const destination = path.join(work, "dest");
      mkdirSync(destination);
      writeFileSync(path.join(destination, "existing.txt"), "secret");
      const file = writeArchiveFile(
        "evil.tar",
        rawBlocks([{ name: "h", type: "1", linkname: "existing.txt" }]),
      );
      const error = await rejection(extractArchive(file, destination));
      expect(error.message).toContain("unsafe archive member path: hard link 'h'");
    });

    it("refuses a hard link to a symlink member", async () => {
      const file = writeArchiveFile(
        "evil.tar",
        rawBlocks([
          { name: "s", type: "2", linkname: "/etc/passwd" },
          { name: "h", type: "1", linkname: "s" },
        ]),
      );
      expect((await rejection(validateArchive(file, {}))).message).toContain(
        "unsafe archive member path",
      );
    });

    it("refuses a non-directory root entry", async () => {
      const file = writeArchiveFile(
        "evil.tar",
        rawBlocks([{ name: "./", type: "2", linkname: "/" }]),
      );
      expect((await rejection(validateArchive(file, {}))).message).toContain(
        "unsafe archive member path: './'",
      );
    });

    it("normalises and checks member names", () => {
      expect(normalizeMemberPath("./note.txt")).toBe("note.txt");
      expect(normalizeMemberPath("./sub/")).toBe("sub");
      expect(normalizeMemberPath("a//b/./c/")).toBe("a/b/c");
      expect(normalizeMemberPath("./")).toBe(".");
      expect(normalizeMemberPath(".")).toBe(".");
      expect(() => normalizeMemberPath("")).toThrow(/unsafe archive member path: ''/);
      expect(() => normalizeMemberPath("a\0b")).toThrow(/unsafe archive member path: 'a\\x00b'/);
      expect(() => normalizeMemberPath("a\\..\\b")).toThrow(UnsafeArchiveError);
      expect(() => normalizeMemberPath("..")).toThrow(UnsafeArchiveError);
    });
  },
);

describe("validateArchive: malformed input and limits", () => {
  it("refuses garbage quickly", async () => {
    const file = writeArchiveFile("garbage.tar", randomBytes(200_000));
    const started = Date.now();
    const error = await rejection(validateArchive(file, {}));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("not a valid tar archive");
  });

  it.each([
    ["an empty file", Buffer.alloc(0)],
    ["a tiny file", Buffer.from("x")],
    ["text", Buffer.from("this is not a tarball\n".repeat(100))],
    ["gzip-looking junk", Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(5_000)])],
    [
      "a truncated gzip",
      gzipSync(rawBlocks([{ name: "a.txt", body: "a".repeat(10_000) }])).subarray(0, 40),
    ],
    [
      "a tar truncated in a member body",
      rawBlocks([{ name: "a.txt", body: "a".repeat(5_000) }]).subarray(0, 2_048),
    ],
    ["a gzip inside a gzip", gzipSync(gzipSync(rawBlocks([{ name: "a.txt", body: "a" }])))],
  ])("refuses %s as not a valid tar archive", async (_label, data) => {
    const file = writeArchiveFile("bad.tar", data);
    const error = await rejection(validateArchive(file, {}));
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("not a valid tar archive");
  });

  it("refuses a missing archive with NotFoundError", async () => {
    const error = await rejection(validateArchive(path.join(work, "missing.tar"), {}));
    expect(error).toBeInstanceOf(NotFoundError);
  });

  it("accepts an empty tar (only the end-of-archive marker)", async () => {
    const file = writeArchiveFile("empty.tar", Buffer.alloc(10_240));
    await expect(validateArchive(file, {})).resolves.toEqual({
      entryCount: 0,
      totalBytes: 0,
      gzip: false,
    });
    const destination = path.join(work, "dest");
    await extractArchive(file, destination);
    expect(readdirSync(destination)).toEqual([]);
  });

  it("enforces maxEntries", async () => {
    const members = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.txt`, body: "x" }));
    const file = writeArchiveFile("many.tar", rawBlocks(members));
    await expect(validateArchive(file, { maxEntries: 5 })).resolves.toMatchObject({
      entryCount: 5,
    });
    const error = await rejection(validateArchive(file, { maxEntries: 3 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain("maxEntries");
    expect(error.message).toContain("3");
  });

  it("enforces maxTotalBytes", async () => {
    const file = writeArchiveFile(
      "big.tar",
      rawBlocks([
        { name: "a.txt", body: "a".repeat(600) },
        { name: "b.txt", body: "b".repeat(600) },
      ]),
    );
    await expect(validateArchive(file, {})).resolves.toEqual({
      entryCount: 2,
      totalBytes: 1_200,
      gzip: false,
    });
    const error = await rejection(validateArchive(file, { maxTotalBytes: 1_000 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain("maxTotalBytes");
    expect(error.message).toContain("1000");
    expect(error.message).toContain("1200");
  });

  it("ignores data after the end-of-archive marker", async () => {
    const data = Buffer.concat([rawBlocks([{ name: "a.txt", body: "a" }]), randomBytes(4_096)]);
    const file = writeArchiveFile("trailing.tar", data);
    await expect(validateArchive(file, {})).resolves.toMatchObject({ entryCount: 1 });
  });
});

describe.each(TAR_MODES)("extractArchive: accepted archives ($tar tar)", ({ tar: mode }) => {
  useTarMode(mode);
  it("extracts a valid hard link inside the archive", async () => {
    const file = writeArchiveFile(
      "links.tar",
      rawBlocks([
        { name: "dir", type: "5" },
        { name: "dir/target.txt", body: "shared" },
        { name: "hard.txt", type: "1", linkname: "dir/target.txt" },
      ]),
    );
    const destination = path.join(work, "dest");
    const summary = await extractArchive(file, destination);
    expect(summary).toEqual({ entryCount: 3, totalBytes: 6, gzip: false });
    expect(readFileSync(path.join(destination, "hard.txt"), "utf8")).toBe("shared");
    expect(statSync(path.join(destination, "hard.txt")).ino).toBe(
      statSync(path.join(destination, "dir/target.txt")).ino,
    );
  });

  it("accepts a gzip archive", async () => {
    const source = path.join(work, "src");
    mkdirSync(path.join(source, "sub"), { recursive: true });
    writeFileSync(path.join(source, "sub", "a.txt"), "hello");
    const file = path.join(work, "a.tgz");
    await tar.c({ cwd: source, file, gzip: true, portable: true }, ["sub"]);
    const summary = await validateArchive(file, {});
    expect(summary).toEqual({ entryCount: 2, totalBytes: 5, gzip: true });
    const destination = path.join(work, "dest");
    await extractArchive(file, destination);
    expect(readFileSync(path.join(destination, "sub", "a.txt"), "utf8")).toBe("hello");
  });

  it("keeps symlink targets as they are, wherever they point", async () => {
    const file = writeArchiveFile(
      "links.tar",
      rawBlocks([
        { name: "etc", type: "2", linkname: "/etc" },
        { name: "sh", type: "2", linkname: "/bin/sh" },
        { name: "up", type: "2", linkname: "../outside" },
        { name: "deep/rel", type: "2", linkname: "../note.txt" },
        { name: "note.txt", body: "note" },
      ]),
    );
    const destination = path.join(work, "dest");
    await extractArchive(file, destination);
    expect(readlinkSync(path.join(destination, "etc"))).toBe("/etc");
    expect(readlinkSync(path.join(destination, "sh"))).toBe("/bin/sh");
    expect(readlinkSync(path.join(destination, "up"))).toBe("../outside");
    expect(readlinkSync(path.join(destination, "deep", "rel"))).toBe("../note.txt");
    expect(readFileSync(path.join(destination, "deep", "rel"), "utf8")).toBe("note");
  });

  it("lets the last member at a path win between symlinks and files", async () => {
    const file = writeArchiveFile(
      "dupes.tar",
      rawBlocks([
        { name: "a", type: "2", linkname: "/etc/passwd" },
        { name: "a", body: "file wins" },
        { name: "b", body: "replaced" },
        { name: "b", type: "2", linkname: "a" },
      ]),
    );
    const destination = path.join(work, "dest");
    await extractArchive(file, destination);
    expect(lstatSync(path.join(destination, "a")).isFile()).toBe(true);
    expect(readFileSync(path.join(destination, "a"), "utf8")).toBe("file wins");
    expect(readlinkSync(path.join(destination, "b"))).toBe("a");
  });

  it("overlays: replaces files and symlinks at member paths, keeps everything else", async () => {
    const outside = path.join(work, "outside");
    mkdirSync(outside);
    writeFileSync(path.join(outside, "secret"), "secret");
    const destination = path.join(work, "dest");
    mkdirSync(destination);
    writeFileSync(path.join(destination, "keep.txt"), "kept");
    writeFileSync(path.join(destination, "note.txt"), "old");
    symlinkSync(path.join(outside, "secret"), path.join(destination, "was-link"));

    const file = writeArchiveFile(
      "overlay.tar",
      rawBlocks([
        { name: "note.txt", body: "new" },
        { name: "was-link", body: "plain file now" },
      ]),
    );
    await extractArchive(file, destination);
    expect(readFileSync(path.join(destination, "keep.txt"), "utf8")).toBe("kept");
    expect(readFileSync(path.join(destination, "note.txt"), "utf8")).toBe("new");
    expect(lstatSync(path.join(destination, "was-link")).isFile()).toBe(true);
    expect(readFileSync(path.join(outside, "secret"), "utf8")).toBe("secret");
  });

  it("reports a member that cannot be written as an extraction failure, not a bad archive", async () => {
    const destination = path.join(work, "dest");
    mkdirSync(path.join(destination, "busy"), { recursive: true });
    writeFileSync(path.join(destination, "busy", "inside.txt"), "x");
    const file = writeArchiveFile(
      "replace.tar",
      rawBlocks([{ name: "busy", body: "file over a non-empty dir" }]),
    );
    const error = await rejection(extractArchive(file, destination));
    expect(error.message).toContain("failed to extract archive");
    expect(error.message).toContain("member 'busy'");
    expect(error.message).not.toContain("not a valid tar archive");
    expect(readFileSync(path.join(destination, "busy", "inside.txt"), "utf8")).toBe("x");
  });

  it("packDirectory writes './'-prefixed members that validate and extract", async () => {
    const source = path.join(work, "src");
    mkdirSync(path.join(source, "empty"), { recursive: true });
    writeFileSync(path.join(source, "note.txt"), "note");
    symlinkSync("note.txt", path.join(source, "note-link"));
    symlinkSync("/etc", path.join(source, "etc-link"));
    const file = path.join(work, "packed.tar");
    await packDirectory(source, file);
    expect((await listMembers(file)).sort()).toEqual([
      "./",
      "./empty/",
      "./etc-link",
      "./note-link",
      "./note.txt",
    ]);
    expect(await validateArchive(file, {})).toEqual({ entryCount: 5, totalBytes: 4, gzip: false });
    const destination = path.join(work, "dest");
    await extractArchive(file, destination);
    expect(readdirSync(destination).sort()).toEqual(["empty", "etc-link", "note-link", "note.txt"]);
    expect(readlinkSync(path.join(destination, "note-link"))).toBe("note.txt");
    expect(readlinkSync(path.join(destination, "etc-link"))).toBe("/etc");
    expect(statSync(path.join(destination, "empty")).isDirectory()).toBe(true);
  });
});

describe("archiveKind", () => {
  it("classifies by extension, case-insensitively", () => {
    expect(archiveKind("/x/y.tar")).toBe("tar");
    expect(archiveKind("/x/y.TAR")).toBe("tar");
    expect(archiveKind("/x/y.tar.gz")).toBe("tar_gz");
    expect(archiveKind("/x/y.Tar.Gz")).toBe("tar_gz");
    expect(archiveKind("y.TGZ")).toBe("tar_gz");
  });

  it("refuses anything else", () => {
    expect(() => archiveKind("/x/y.zip")).toThrow(ValidationError);
    expect(() => archiveKind("/x/y.zip")).toThrow(
      "seed_path must be a directory or a .tar, .tar.gz or .tgz archive: '/x/y.zip'",
    );
  });
});

describe.each(TAR_MODES)("exportPath / extractExport ($tar tar)", ({ tar: mode }) => {
  useTarMode(mode);
  let root: string;

  beforeEach(() => {
    root = path.join(work, "workspace");
    mkdirSync(path.join(root, "project", "empty"), { recursive: true });
    mkdirSync(path.join(root, "project", "sub"), { recursive: true });
    writeFileSync(path.join(root, "project", "note.txt"), "note");
    writeFileSync(path.join(root, "project", "sub", "deep.txt"), "deep");
    symlinkSync("note.txt", path.join(root, "project", "note-link"));
  });

  it("round-trips a directory with a symlink and an empty directory", async () => {
    const file = path.join(work, "export.tar");
    const exported = await exportPath({ root, relativePath: "project", file });
    expect(exported).toEqual({ artifact_type: "directory", entry_count: 5 });
    // GNU tar records the directory's own mode and mtime in a root member (a reset restores
    // /workspace's from it); node-tar writes one only for an empty directory.
    expect((await listMembers(file)).sort()).toEqual([
      ...(mode === "gnu" ? ["./"] : []),
      "empty/",
      "note-link",
      "note.txt",
      "sub/",
      "sub/deep.txt",
    ]);

    const outputPath = path.join(work, "out", "project-copy");
    const result = await extractExport({ file, outputPath, artifactType: "directory" });
    expect(result).toEqual({ output_path: outputPath, artifact_type: "directory" });
    expect(readdirSync(outputPath).sort()).toEqual(["empty", "note-link", "note.txt", "sub"]);
    expect(readlinkSync(path.join(outputPath, "note-link"))).toBe("note.txt");
    expect(statSync(path.join(outputPath, "empty")).isDirectory()).toBe(true);
    expect(readdirSync(path.join(outputPath, "empty"))).toEqual([]);
    expect(readFileSync(path.join(outputPath, "sub", "deep.txt"), "utf8")).toBe("deep");
    expect(readdirSync(path.join(work, "out"))).toEqual(["project-copy"]);
  });

  it("writes whole records of the size asked for, and extracts the same tree", async () => {
    // The transfer disk's export asks for 1 MiB records (GNU tar; node-tar ignores it).
    for (const relativePath of ["project", "project/sub/deep.txt"]) {
      const file = path.join(work, "records.tar");
      await exportPath({ root, relativePath, file, recordBlocks: 2048 });
      if (mode === "gnu") expect(statSync(file).size % (1024 * 1024)).toBe(0);
      const outputPath = path.join(work, "records-out");
      const artifactType = relativePath === "project" ? "directory" : "file";
      await extractExport({ file, outputPath, artifactType });
      if (artifactType === "file") expect(readFileSync(outputPath, "utf8")).toBe("deep");
      else expect(readFileSync(path.join(outputPath, "sub", "deep.txt"), "utf8")).toBe("deep");
      rmSync(outputPath, { recursive: true });
      rmSync(file);
    }
  });

  it("exports an empty directory", async () => {
    const file = path.join(work, "export.tar");
    expect(await exportPath({ root, relativePath: "project/empty", file })).toEqual({
      artifact_type: "directory",
      entry_count: 0,
    });
    const outputPath = path.join(work, "out");
    await extractExport({ file, outputPath, artifactType: "directory" });
    expect(readdirSync(outputPath)).toEqual([]);
  });

  it("exports a single file to an exact output path", async () => {
    const file = path.join(work, "export.tar");
    expect(await exportPath({ root, relativePath: "project/sub/deep.txt", file })).toEqual({
      artifact_type: "file",
      entry_count: 1,
    });
    expect(await listMembers(file)).toEqual(["deep.txt"]);
    const outputPath = path.join(work, "out", "nested", "renamed.txt");
    const result = await extractExport({ file, outputPath, artifactType: "file" });
    expect(result).toEqual({ output_path: outputPath, artifact_type: "file" });
    expect(readFileSync(outputPath, "utf8")).toBe("deep");
    expect(readdirSync(path.dirname(outputPath))).toEqual(["renamed.txt"]);
  });

  it("exports a symlink as a symlink", async () => {
    const file = path.join(work, "export.tar");
    expect(await exportPath({ root, relativePath: "project/note-link", file })).toEqual({
      artifact_type: "symlink",
      entry_count: 1,
    });
    const outputPath = path.join(work, "link-out");
    await extractExport({ file, outputPath, artifactType: "symlink" });
    expect(readlinkSync(outputPath)).toBe("note.txt");
  });

  it("refuses an existing output path and leaves it untouched", async () => {
    const file = path.join(work, "export.tar");
    await exportPath({ root, relativePath: "project/note.txt", file });
    const outputPath = path.join(work, "existing.txt");
    writeFileSync(outputPath, "original");
    const error = await rejection(extractExport({ file, outputPath, artifactType: "file" }));
    expect(error.code).toBe("already_exists");
    expect(error.message).toContain("output_path already exists");
    expect(readFileSync(outputPath, "utf8")).toBe("original");
    expect(readdirSync(work).filter((name) => name.includes(".pyro-tmp-"))).toEqual([]);
  });

  it("leaves nothing behind when the archive does not match the artifact type", async () => {
    const file = path.join(work, "export.tar");
    await exportPath({ root, relativePath: "project", file });
    const outputPath = path.join(work, "out", "single.txt");
    const error = await rejection(extractExport({ file, outputPath, artifactType: "file" }));
    expect(error).toBeInstanceOf(UnsafeArchiveError);
    expect(readdirSync(path.join(work, "out"))).toEqual([]);
  });

  it("leaves nothing behind when the archive is unsafe", async () => {
    const file = writeArchiveFile("evil.tar", rawBlocks([{ name: "../escape.txt", body: "x" }]));
    const outputPath = path.join(work, "out");
    const error = await rejection(extractExport({ file, outputPath, artifactType: "directory" }));
    expect(error).toBeInstanceOf(UnsafeArchiveError);
    expect(existsSync(outputPath)).toBe(false);
    expect(
      readdirSync(work).filter((name) => name.includes(".pyro-tmp-") || name === "escape.txt"),
    ).toEqual([]);
  });

  it("refuses a missing workspace path", async () => {
    const error = await rejection(
      exportPath({
        root,
        relativePath: "project/missing.txt",
        file: path.join(work, "export.tar"),
      }),
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain("workspace path does not exist");
    expect(existsSync(path.join(work, "export.tar"))).toBe(false);
  });

  it("refuses a path outside the workspace", async () => {
    const error = await rejection(
      exportPath({ root, relativePath: "../", file: path.join(work, "export.tar") }),
    );
    expect(error).toBeInstanceOf(ValidationError);
  });
});
