/**
 * Hostile archives against a destination that already holds symlinks and hard links to
 * the outside: whatever header kinds an archive uses, extraction (GNU tar and node-tar)
 * writes, links and chmods nothing outside the destination, never follows a symlink that
 * exists there, and strips setuid/setgid bits.
 */
import {
  linkSync,
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
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PyroError } from "../src/errors.js";
import { extractArchive, extractExport } from "../src/archive/index.js";
import { paxBody, rawBlocks, type RawBlock } from "./hostile-tar.js";
import { TAR_MODES, useTarMode } from "./tar-modes.js";

const pax = (records: Record<string, string>): RawBlock => ({
  name: "PaxHeader/x",
  type: "x",
  body: paxBody(records),
});
const globalPax = (records: Record<string, string>): RawBlock => ({
  name: "pax_global_header",
  type: "g",
  body: paxBody(records),
});
const longName = (name: string): RawBlock => ({
  name: "././@LongLink",
  type: "L",
  body: `${name}\0`,
});
const longLink = (name: string): RawBlock => ({
  name: "././@LongLink",
  type: "K",
  body: `${name}\0`,
});
const file = (name: string, body = "pwned"): RawBlock => ({ name, body });

/**
 * Each archive names something harmless to one parser and `evil/...` (through the
 * destination's `evil -> outside` symlink) or `hl`/`sl` (a hard link and a symlink to
 * outside/secret) to another, or targets the symlink itself.
 */
const CORPUS: [string, RawBlock[]][] = [
  ["a pax global header with path=", [globalPax({ path: "evil/pwned" }), file("a.txt")]],
  [
    "a pax global header with GNU.sparse.name",
    [globalPax({ "GNU.sparse.name": "evil/pwned" }), file("a.txt")],
  ],
  [
    "a pax global header with linkpath=",
    [file("f"), globalPax({ linkpath: "evil/secret" }), { name: "h", type: "1", linkname: "f" }],
  ],
  ["a pax header with GNU.sparse.name", [pax({ "GNU.sparse.name": "evil/pwned" }), file("a.txt")]],
  [
    "pax GNU.sparse 1.0 keys on a plain file",
    [
      pax({
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "evil/pwned",
        "GNU.sparse.realsize": "5",
      }),
      file("a.txt", "1\n0\n5\n"),
    ],
  ],
  ["pax path= then a GNU long name", [pax({ path: "a.txt" }), longName("evil/pwned"), file("b")]],
  ["a GNU long name then pax path=", [longName("evil/pwned"), pax({ path: "a.txt" }), file("b")]],
  [
    "pax linkpath= then a GNU long link",
    [
      file("f"),
      pax({ linkpath: "f" }),
      longLink("evil/secret"),
      { name: "h", type: "1", linkname: "f" },
    ],
  ],
  [
    "a GNU long link then pax linkpath=",
    [
      file("f"),
      longLink("evil/secret"),
      pax({ linkpath: "f" }),
      { name: "h", type: "1", linkname: "f" },
    ],
  ],
  ["two GNU long names", [longName("a.txt"), longName("evil/pwned"), file("b")]],
  ["two pax headers", [pax({ path: "a.txt" }), pax({ path: "evil/pwned" }), file("b")]],
  [
    "a ustar header with a non-standard version and a prefix",
    [{ name: "pwned", body: "pwned", magic: Buffer.from("ustar\0xx", "binary"), prefix: "evil" }],
  ],
  [
    "an old GNU header with a prefix",
    [{ name: "pwned", body: "pwned", magic: "gnu", prefix: "evil" }],
  ],
  ["a v7 header with a prefix", [{ name: "pwned", body: "pwned", magic: "v7", prefix: "evil" }]],
  ["an old GNU sparse member", [{ name: "evil/pwned", type: "S", body: "pwned", magic: "gnu" }]],
  ["a multi-volume continuation", [{ name: "evil/pwned", type: "M", body: "pwned", magic: "gnu" }]],
  ["a volume label", [{ name: "evil", type: "V", magic: "gnu" }, file("a.txt")]],
  ["a directory member at the symlink's own path", [{ name: "evil/", type: "5", mode: 0o777 }]],
  [
    "a directory member at the symlink's path, then a file below it",
    [{ name: "evil/", type: "5" }, file("evil/pwned")],
  ],
  ["a file over a symlink to an outside file", [file("sl")]],
  ["a file over a hard link to an outside file", [file("hl")]],
  [
    "a hard link to a hard link that exists in the destination",
    [{ name: "h", type: "1", linkname: "hl" }],
  ],
  ["a hard link through the symlink", [{ name: "h", type: "1", linkname: "evil/secret" }]],
  [
    "a symlink over the symlink, then a file through it",
    [{ name: "evil", type: "2", linkname: "." }, file("evil/pwned")],
  ],
];

let work: string;
let outside: string;
let destination: string;

beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "pyro-hostile-"));
  outside = path.join(work, "outside");
  destination = path.join(work, "dest");
  mkdirSync(outside, { mode: 0o755 });
  writeFileSync(path.join(outside, "secret"), "secret\n", { mode: 0o600 });
  mkdirSync(destination);
  symlinkSync(outside, path.join(destination, "evil"));
  symlinkSync(path.join(outside, "secret"), path.join(destination, "sl"));
  linkSync(path.join(outside, "secret"), path.join(destination, "hl"));
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

function expectOutsideUntouched(): void {
  expect(readdirSync(outside)).toEqual(["secret"]);
  expect(statSync(outside).mode & 0o7777).toBe(0o755);
  const secret = statSync(path.join(outside, "secret"));
  expect(readFileSync(path.join(outside, "secret"), "utf8")).toBe("secret\n");
  expect(secret.mode & 0o7777).toBe(0o600);
  // Only the destination's pre-existing `hl` may link to it (or nothing, once replaced).
  expect(secret.nlink).toBeLessThanOrEqual(2);
  if (secret.nlink === 2) expect(statSync(path.join(destination, "hl")).ino).toBe(secret.ino);
}

describe.each(TAR_MODES)("hostile archives over existing links ($tar tar)", ({ tar: mode }) => {
  useTarMode(mode);

  it.each(CORPUS)("%s writes nothing outside the destination", async (_label, blocks) => {
    const archive = path.join(work, "hostile.tar");
    writeFileSync(archive, rawBlocks(blocks));
    try {
      await extractArchive(archive, destination);
    } catch (error) {
      // A refusal is fine (and must be a PyroError naming the problem); an escape is not.
      expect(error).toBeInstanceOf(PyroError);
    }
    expectOutsideUntouched();
  });

  it("refuses the header kinds the parsers disagree on, naming the member and the rule", async () => {
    const cases: [RawBlock[], RegExp][] = [
      [[globalPax({ path: "evil/pwned" }), file("a.txt")], /pax global header.*'path'/],
      [[pax({ "GNU.sparse.name": "x" }), file("a.txt")], /'GNU\.sparse\.name'/],
      [
        [pax({ path: "a.txt" }), longName("b.txt"), file("b")],
        /both a pax path and a GNU long name/,
      ],
      [[longName("a.txt"), longName("b.txt"), file("b")], /more than one GNU long name/],
      [
        [{ name: "pwned", body: "x", magic: Buffer.from("ustar\0xx", "binary"), prefix: "evil" }],
        /ustar version/,
      ],
    ];
    for (const [blocks, pattern] of cases) {
      const archive = path.join(work, "hostile.tar");
      writeFileSync(archive, rawBlocks(blocks));
      await expect(extractArchive(archive, destination)).rejects.toMatchObject({
        code: "unsafe_archive",
        message: expect.stringMatching(pattern) as unknown,
      });
    }
  });

  it("replaces a symlink or hard link at a member's path instead of writing through it", async () => {
    const archive = path.join(work, "over.tar");
    writeFileSync(archive, rawBlocks([file("sl", "new sl"), file("hl", "new hl")]));
    await extractArchive(archive, destination);
    expect(lstatSync(path.join(destination, "sl")).isFile()).toBe(true);
    expect(readFileSync(path.join(destination, "sl"), "utf8")).toBe("new sl");
    expect(readFileSync(path.join(destination, "hl"), "utf8")).toBe("new hl");
    expect(statSync(path.join(outside, "secret")).nlink).toBe(1);
    expectOutsideUntouched();
  });

  it("strips setuid and setgid bits from files and directories", async () => {
    const archive = path.join(work, "modes.tar");
    writeFileSync(
      archive,
      rawBlocks([
        { name: "suid", body: "x", mode: 0o4755 },
        { name: "sgid", body: "x", mode: 0o2755 },
        { name: "sticky-file", body: "x", mode: 0o1755 },
        { name: "dir/", type: "5", mode: 0o3775 },
        { name: "tmp/", type: "5", mode: 0o1777 },
      ]),
    );
    await extractArchive(archive, destination);
    const mode = (name: string): number => statSync(path.join(destination, name)).mode & 0o7000;
    expect(mode("suid")).toBe(0);
    expect(mode("sgid")).toBe(0);
    expect(mode("sticky-file")).toBe(0);
    expect(mode("dir")).toBe(0o1000);
    expect(mode("tmp")).toBe(0o1000);
  });

  it("strips setuid and setgid bits from an export materialised on the host", async () => {
    const archive = path.join(work, "export.tar");
    writeFileSync(archive, rawBlocks([{ name: "tool", body: "#!/bin/sh\n", mode: 0o6755 }]));
    const output = path.join(work, "tool");
    await extractExport({ file: archive, outputPath: output, artifactType: "file" });
    expect(statSync(output).mode & 0o7777).toBe(0o755);
  });
});

describe.each(TAR_MODES)(
  "the canonical re-write keeps what it must ($tar tar)",
  ({ tar: mode }) => {
    useTarMode(mode);

    it("accepts what common writers emit: git archive's comment, bsdtar's and GNU tar's pax keys", async () => {
      const archive = path.join(work, "common.tar");
      writeFileSync(
        archive,
        rawBlocks([
          globalPax({ comment: "0123456789abcdef0123456789abcdef01234567" }),
          pax({
            "LIBARCHIVE.creationtime": "1700000000",
            "SCHILY.dev": "2049",
            atime: "1700000000.5",
          }),
          file("a.txt", "a"),
          pax({ path: "b.txt", mtime: "1700000001.25", ctime: "1700000001" }),
          file("ignored", "b"),
        ]),
      );
      await extractArchive(archive, destination);
      expect(readFileSync(path.join(destination, "a.txt"), "utf8")).toBe("a");
      expect(readFileSync(path.join(destination, "b.txt"), "utf8")).toBe("b");
    });

    it("keeps long and non-ASCII names, link targets, modes and mtimes", async () => {
      const long = `${"d".repeat(120)}/${"n".repeat(150)}.txt`;
      const unicode = "répertoire/ファイル.txt";
      const target = `${"t".repeat(180)}/x`;
      const archive = path.join(work, "names.tar");
      writeFileSync(
        archive,
        rawBlocks([
          pax({ path: long }),
          { name: "ignored-by-pax", body: "long", mode: 0o640 },
          pax({ path: unicode }),
          { name: "ignored-too", body: "unicode" },
          pax({ linkpath: target }),
          { name: "link", type: "2", linkname: "ignored" },
          pax({ linkpath: long }),
          { name: "hard", type: "1", linkname: "ignored" },
        ]),
      );
      await extractArchive(archive, destination);
      expect(readFileSync(path.join(destination, long), "utf8")).toBe("long");
      expect(statSync(path.join(destination, long)).mode & 0o777).toBe(0o640);
      expect(statSync(path.join(destination, long)).mtimeMs).toBe(1_700_000_000_000);
      expect(readFileSync(path.join(destination, unicode), "utf8")).toBe("unicode");
      expect(readlinkSync(path.join(destination, "link"))).toBe(target);
      expect(statSync(path.join(destination, "hard")).ino).toBe(
        statSync(path.join(destination, long)).ino,
      );
    });
  },
);
