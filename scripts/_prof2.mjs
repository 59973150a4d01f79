import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tar from "tar";
import { extractArchive, validateArchive, packDirectory } from "../dist/archive/index.js";
const base = fs.mkdtempSync(path.join(os.tmpdir(), "prof-"));
const seed = path.join(base, "seed");
for (let i = 0; i < 10000; i++) {
  const f = path.join(seed, `d${i % 100}`, `f${i}.txt`);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, `file ${i}\n${"line of text\n".repeat(20)}`);
}
const file = path.join(base, "a.tar");
let s = Date.now();
await packDirectory(seed, file);
console.log("packDirectory", Date.now() - s);
s = Date.now();
await validateArchive(file, {});
console.log("validate", Date.now() - s);
s = Date.now();
await extractArchive(file, path.join(base, "x1"));
console.log("extractArchive", Date.now() - s);
s = Date.now();
await tar.x({
  file,
  cwd: fs.mkdirSync(path.join(base, "x2"), { recursive: true }) ?? path.join(base, "x2"),
});
console.log("tar.x async", Date.now() - s);
fs.mkdirSync(path.join(base, "x3"));
s = Date.now();
tar.x({ file, cwd: path.join(base, "x3"), sync: true });
console.log("tar.x sync", Date.now() - s);
fs.mkdirSync(path.join(base, "x4"));
s = Date.now();
tar.x({
  file,
  cwd: path.join(base, "x4"),
  sync: true,
  preserveOwner: false,
  noMtime: false,
  unlink: true,
});
console.log("tar.x sync unlink", Date.now() - s);
fs.rmSync(base, { recursive: true });
