/**
 * Booted-guest templates (docs/qemu-backend.md, "Templates"): a guest booted once up to an
 * idle agent, its memory and device state saved with QEMU migration to a file, and its disk
 * overlay kept read-only as the backing file of every guest restored from it. A restore
 * (`-incoming`) takes about a second where a cold boot under TCG takes about seven.
 *
 *   <environment cache>/templates/<key>/manifest.json   written last (temp + rename of the dir)
 *   <environment cache>/templates/<key>/state.mig       qemu's migration stream (devices, ROMs)
 *   <environment cache>/templates/<key>/ram.bin         the guest's RAM (sparse), mapped
 *                                                       copy-on-write by every restore
 *   <environment cache>/templates/<key>/disk.qcow2      the guest's disk at save time (0444)
 *   <environment cache>/templates/.locks/<key>.lock     {pid, start_ticks} of the one builder
 *   <environment cache>/templates/.build-<key>-<pid>/   a build in progress (never used)
 *
 * The key hashes everything the saved state depends on: the environment's artifacts (and
 * the agent inside), the qemu binary and its version, the accelerator, and the qemu command
 * line with the per-sandbox paths taken out (vcpu, memory, kernel command line and the
 * device set, so a network device another feature adds gives another key: template-shape.ts).
 * Saving and restoring a guest: template-migration.ts, template-restore.ts; a kept disk
 * detached from its template: template-disk.ts.
 */

import fs from "node:fs";
import path from "node:path";

import { z } from "zod";

import { lazy } from "../../shared/lazy.js";

import { isSameProcess, readProcStat, sleep } from "../../process/process-group.js";
import { readRecord } from "../../store/records.js";
import { TEMPLATE_FORMAT } from "./template-shape.js";

const TEMPLATE_FILES = ["state.mig", "disk.qcow2", "ram.bin"];

const ManifestSchema = lazy(() =>
  z.object({
    format: z.literal(TEMPLATE_FORMAT),
    key: z.string(),
    inputs: z.record(z.string(), z.unknown()),
    created_at: z.number(),
    build_ms: z.number(),
    state_bytes: z.number(),
    disk_bytes: z.number(),
    ram_bytes: z.number(),
  }),
);
type TemplateManifest = z.infer<ReturnType<typeof ManifestSchema>>;

interface Template {
  key: string;
  dir: string;
  state: string;
  disk: string;
  ram: string;
  manifest: TemplateManifest;
}

/** What a build leaves for the template (files in the build directory). */
interface BuiltTemplate {
  state: string;
  disk: string;
  ram: string;
}

export class TemplateStore {
  readonly root: string;

  constructor(environmentCacheDir: string) {
    this.root = path.join(environmentCacheDir, "templates");
  }

  private dirOf(key: string): string {
    return path.join(this.root, key);
  }

  private lockOf(key: string): string {
    return path.join(this.root, ".locks", `${key}.lock`);
  }

  /** The valid template of `key`, or why there is none. */
  async find(key: string): Promise<Template | { missing: string }> {
    const dir = this.dirOf(key);
    let manifest: TemplateManifest | null;
    try {
      manifest = await readRecord(path.join(dir, "manifest.json"), ManifestSchema);
    } catch (error) {
      return { missing: `its manifest is unreadable: ${(error as Error).message}` };
    }
    if (!manifest) return { missing: "none was built for this shape yet" };
    if (manifest.key !== key) return { missing: `its manifest names key ${manifest.key}` };
    const state = path.join(dir, "state.mig");
    const disk = path.join(dir, "disk.qcow2");
    const ram = path.join(dir, "ram.bin");
    const stateSize = fs.statSync(state, { throwIfNoEntry: false })?.size;
    const diskSize = fs.statSync(disk, { throwIfNoEntry: false })?.size;
    const ramSize = fs.statSync(ram, { throwIfNoEntry: false })?.size;
    if (
      stateSize !== manifest.state_bytes ||
      diskSize !== manifest.disk_bytes ||
      ramSize !== manifest.ram_bytes
    ) {
      return { missing: "its files do not match its manifest (damaged)" };
    }
    return { key, dir, state, disk, ram, manifest };
  }

  /** Throws a template away (a restore from it failed); the next use builds it again. */
  invalidate(key: string): void {
    const dir = this.dirOf(key);
    const doomed = `${dir}.invalid-${process.pid}-${Date.now()}`;
    try {
      fs.renameSync(dir, doomed);
    } catch {
      return;
    }
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  /**
   * The template of `key`, built by `build` into a private directory if there is none, under
   * a lock so that concurrent creates build it once (the others wait for it). A builder
   * killed with SIGKILL leaves a build directory and a lock naming a dead process: the next
   * builder stops that build's VM (`sweep`) and removes both.
   */
  async obtain(
    key: string,
    inputs: Record<string, unknown>,
    waitMs: number,
    build: (buildDir: string) => Promise<BuiltTemplate>,
    sweep: (buildDir: string) => Promise<void>,
  ): Promise<Template> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const found = await this.find(key);
      if ("dir" in found) return found;
      if (this.tryLock(key)) {
        try {
          const again = await this.find(key);
          if ("dir" in again) return again;
          await this.sweepBuilds(key, sweep);
          return await this.buildLocked(key, inputs, build);
        } finally {
          fs.rmSync(this.lockOf(key), { force: true });
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`another process is still building this template after ${waitMs} ms`);
      }
      await sleep(100);
    }
  }

  private async buildLocked(
    key: string,
    inputs: Record<string, unknown>,
    build: (buildDir: string) => Promise<BuiltTemplate>,
  ): Promise<Template> {
    const started = Date.now();
    const buildDir = path.join(this.root, `.build-${key}-${process.pid}`);
    fs.rmSync(buildDir, { recursive: true, force: true });
    fs.mkdirSync(buildDir, { recursive: true, mode: 0o700 });
    try {
      const built = await build(buildDir);
      fs.renameSync(built.state, path.join(buildDir, "state.mig"));
      fs.renameSync(built.disk, path.join(buildDir, "disk.qcow2"));
      fs.renameSync(built.ram, path.join(buildDir, "ram.bin"));
      for (const file of TEMPLATE_FILES) {
        // On disk before the manifest says the template exists (the RAM is still dirty in
        // the page cache when the build's qemu ends).
        const fd = fs.openSync(path.join(buildDir, file), "r");
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      }
      for (const file of ["state.mig", "disk.qcow2"])
        fs.chmodSync(path.join(buildDir, file), 0o444);
      // A restore's qemu opens ram.bin read-write (QEMU 7.2 has no read-only private
      // mapping); its mapping is private, so no write of a guest reaches the file.
      fs.chmodSync(path.join(buildDir, "ram.bin"), 0o600);
      // Only the three files and the manifest move into place; the runtime is gone by now.
      for (const entry of fs.readdirSync(buildDir)) {
        if (!TEMPLATE_FILES.includes(entry)) {
          fs.rmSync(path.join(buildDir, entry), { recursive: true, force: true });
        }
      }
      const manifest: TemplateManifest = {
        format: TEMPLATE_FORMAT,
        key,
        inputs,
        created_at: Date.now() / 1000,
        build_ms: Date.now() - started,
        state_bytes: fs.statSync(path.join(buildDir, "state.mig")).size,
        disk_bytes: fs.statSync(path.join(buildDir, "disk.qcow2")).size,
        ram_bytes: fs.statSync(path.join(buildDir, "ram.bin")).size,
      };
      fs.writeFileSync(path.join(buildDir, "manifest.json"), JSON.stringify(manifest, null, 2));
      const target = this.dirOf(key);
      // A damaged template of this key (find said so) is replaced.
      this.invalidate(key);
      fs.renameSync(buildDir, target);
      const found = await this.find(key);
      if (!("dir" in found)) throw new Error(`the new template is not valid: ${found.missing}`);
      this.removeStale(inputs);
      return found;
    } catch (error) {
      fs.rmSync(buildDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Takes the build lock, or removes it when its holder is gone (then the caller retries). */
  private tryLock(key: string): boolean {
    const lock = this.lockOf(key);
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
    const mine = JSON.stringify({
      pid: process.pid,
      start_ticks: readProcStat(process.pid)?.startTicks ?? null,
    });
    // Written whole and linked into place: a lock is never seen half written.
    const temp = `${lock}.${process.pid}.tmp`;
    fs.writeFileSync(temp, mine, { mode: 0o600 });
    try {
      fs.linkSync(temp, lock);
      return true;
    } catch {
      const holder = readHolder(lock);
      if (holder === null || !isSameProcess(holder.pid, holder.start_ticks)) {
        fs.rmSync(lock, { force: true });
      }
      return false;
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }

  /** Builds of this key by dead builders (we hold the lock): stop their VMs, remove them. */
  private async sweepBuilds(
    key: string,
    sweep: (buildDir: string) => Promise<void>,
  ): Promise<void> {
    const prefix = `.build-${key}-`;
    for (const entry of fs.readdirSync(this.root)) {
      if (!entry.startsWith(prefix)) continue;
      const dir = path.join(this.root, entry);
      await sweep(dir).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Templates of the same environment saved over an image that has changed since (another
   * rootfs digest or file identity): their disks back onto data that is gone, so no key can
   * match them again. Each holds ~160 MB.
   */
  private removeStale(current: Record<string, unknown>): void {
    for (const { key, manifest } of this.list()) {
      if (!manifest || manifest.inputs.environment !== current.environment) continue;
      const same =
        manifest.inputs.rootfs_sha256 === current.rootfs_sha256 &&
        JSON.stringify(manifest.inputs.rootfs_file) === JSON.stringify(current.rootfs_file);
      if (!same) this.invalidate(key);
    }
  }

  /** Every template on disk with its manifest (for `doctor`). */
  list(): Array<{ key: string; manifest: TemplateManifest | null }> {
    let entries: string[];
    try {
      entries = fs.readdirSync(this.root);
    } catch {
      return [];
    }
    return entries
      .filter((entry) => /^[0-9a-f]{32}$/.test(entry))
      .map((key) => {
        try {
          const raw: unknown = JSON.parse(
            fs.readFileSync(path.join(this.dirOf(key), "manifest.json"), "utf8"),
          );
          const parsed = ManifestSchema().safeParse(raw);
          return { key, manifest: parsed.success ? parsed.data : null };
        } catch {
          return { key, manifest: null };
        }
      });
  }
}

function readHolder(lock: string): { pid: number; start_ticks: number | null } | null {
  try {
    const raw = JSON.parse(fs.readFileSync(lock, "utf8")) as {
      pid?: unknown;
      start_ticks?: unknown;
    };
    if (typeof raw.pid !== "number") return null;
    return {
      pid: raw.pid,
      start_ticks: typeof raw.start_ticks === "number" ? raw.start_ticks : null,
    };
  } catch {
    return null;
  }
}
