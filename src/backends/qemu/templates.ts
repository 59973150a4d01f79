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
 * device set, so a network device another feature adds gives another key).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { z } from "zod";

import { isSameProcess, readProcStat, sleep } from "../../process/process-group.js";
import { runTool } from "../../environments/host-tools.js";
import { readRecord } from "../../store/records.js";
import type { BootArtifacts } from "../../environments/store.js";
import { qemuVersion, type Accelerator } from "./detect.js";
import type { QemuPaths } from "./runtime-files.js";
import { Qmp } from "./qmp.js";

const TEMPLATE_FILES = ["state.mig", "disk.qcow2", "ram.bin"];
/** The guest's RAM (a shared file) stays out of the migration stream (templateArgs). */
export const IGNORE_SHARED = [{ capability: "x-ignore-shared", state: true }];
/** A restoring qemu's QMP socket, in its runtime directory (not guest-net's qmp.sock). */
export const RESTORE_QMP_SOCKET_NAME = "restore-qmp.sock";
/** The memory backend a template's guest runs on (its RAM is a file: see templateArgs). */
const RAM_BACKEND_ID = "pyro-ram";

/** Bumped when the layout or the restore protocol changes: older templates stop matching. */
const TEMPLATE_FORMAT = 2;
/** How long a save may take (37 MB for an idle 512 MiB TCG guest took 1.7 s). */
const SAVE_TIMEOUT_MS = 60_000;

const ManifestSchema = z.object({
  format: z.literal(TEMPLATE_FORMAT),
  key: z.string(),
  inputs: z.record(z.string(), z.unknown()),
  created_at: z.number(),
  build_ms: z.number(),
  state_bytes: z.number(),
  disk_bytes: z.number(),
  ram_bytes: z.number(),
});
type TemplateManifest = z.infer<typeof ManifestSchema>;

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

/** A sandbox's template key, or why its shape cannot have a template. */
type TemplateShape =
  { key: string; inputs: Record<string, unknown> } | { key: null; reason: string };

const qemuVersions = new Map<string, string | null>();

/**
 * The key of a sandbox's shape. `args` is the sandbox's qemu command line; its own paths
 * (overlay, sockets, console, transfer disk) and the boot's epoch are replaced by
 * placeholders, so every sandbox of one shape shares the key.
 */
export function templateShape(
  qemu: string,
  accel: Accelerator,
  artifacts: Pick<BootArtifacts, "rootfs" | "manifest">,
  args: string[],
  paths: Pick<QemuPaths, "overlay" | "guestSocket" | "consoleLog" | "transferDisk" | "runtimeDir">,
): TemplateShape {
  if (process.env.PYRO_QEMU_TEMPLATES !== "1") {
    // Opt-in for now: an idle restored guest keeps its whole memory resident on the host
    // (3 idle 1024 MiB guests: 3.4 GiB restored against 1.1 GiB cold-booted), see
    // docs/qemu-backend.md.
    return {
      key: null,
      reason: "booted-guest templates are off (PYRO_QEMU_TEMPLATES=1 turns them on)",
    };
  }
  if (args.includes("-netdev") || args.some((arg) => arg.startsWith("-nic"))) {
    // A NIC's backend (slirp's connections, host forwards) is not saved with the guest.
    return { key: null, reason: "sandboxes with a network device are not restored from templates" };
  }
  const shapeArgs = withoutBalloon(args);
  if (!qemuVersions.has(qemu)) qemuVersions.set(qemu, qemuVersion(qemu));
  const version = qemuVersions.get(qemu) ?? null;
  if (!version) return { key: null, reason: `could not read the version of ${qemu}` };
  const binary = fs.statSync(fs.realpathSync(qemu));
  const rootfs = fs.statSync(artifacts.rootfs);
  const { manifest } = artifacts;
  const normalized = shapeArgs.map((arg) =>
    arg
      .split(paths.overlay)
      .join("<overlay>")
      .split(paths.transferDisk)
      .join("<transfer>")
      .split(paths.consoleLog)
      .join("<console>")
      .split(paths.guestSocket)
      .join("<guest-socket>")
      .split(paths.runtimeDir)
      .join("<runtime>")
      .replace(/pyro\.epoch=\d+/, "pyro.epoch=<now>")
      // The host's clock rate as /proc/cpuinfo shows it now; the saved guest already runs.
      .replace(/tsc_early_khz=\d+/, "tsc_early_khz=<host>")
      .replace(/\/proc\/self\/fd\/\d+\/[^,]*/, "<guest-socket>"),
  );
  const inputs: Record<string, unknown> = {
    format: TEMPLATE_FORMAT,
    qemu: { path: qemu, version, bytes: binary.size, mtime_ms: binary.mtimeMs },
    accel,
    environment: manifest.name,
    kernel_sha256: manifest.kernel.sha256,
    initramfs_sha256: manifest.initramfs.sha256,
    rootfs_sha256: manifest.rootfs.sha256,
    // The agent is refreshed inside the image in place: the file's identity changes too.
    rootfs_file: { bytes: rootfs.size, mtime_ms: rootfs.mtimeMs, ino: rootfs.ino },
    agent_sha256: manifest.agent.sha256,
    device_set: digest(normalized.filter((_, index) => isDeviceOption(shapeArgs[index - 1]))),
    args: normalized,
  };
  return { key: digest(inputs).slice(0, 32), inputs };
}

/**
 * The qemu command line of a template's guest: the sandbox's, with its RAM a file
 * (`memory-backend-file`), RAM left out of the migration stream (`x-ignore-shared`), and no
 * balloon.
 *
 * The build maps `ramFile` shared (`share=on`): the guest's memory is the file, and the
 * migration, with the `x-ignore-shared` capability (set over QMP on both sides: QEMU 7.2
 * has no command-line option for it), saves only the devices and ROMs. A restore maps the template's file privately
 * (`share=off`): QEMU skips RAM it shares only, but the stream carries none, so the guest
 * runs on the file as mapped. Pages it reads stay the file's page cache, shared by every
 * guest restored from it (host memory counted once); pages it writes are its own copies.
 * Nothing is loaded, nothing populated.
 *
 * No balloon: QEMU 7.2 discards a reported or ballooned page of a file-backed RAM block by
 * punching a hole in the file (`ram_block_discard_range`, even for a private mapping; fixed
 * in 8.1), which would zero the template under every guest restored from it, and a hostile
 * guest can send reports or inflate on its own. So a restored guest does not give freed
 * memory back; its footprint is what it wrote since the restore.
 */
export function templateArgs(
  args: string[],
  memMib: number,
  ramFile: string,
  share: boolean,
): string[] {
  return [
    ...withoutBalloon(args),
    ...[
      "-object",
      `memory-backend-file,id=${RAM_BACKEND_ID},size=${memMib}M,mem-path=${ramFile.replace(/,/g, ",,")},share=${share ? "on" : "off"}`,
    ],
    ...["-machine", `memory-backend=${RAM_BACKEND_ID}`],
  ];
}

function withoutBalloon(args: string[]): string[] {
  const out: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === "-device" && args[index + 1]?.startsWith("virtio-balloon")) {
      index += 1;
      continue;
    }
    out.push(arg);
  }
  return out;
}

function isDeviceOption(option: string | undefined): boolean {
  return ["-device", "-drive", "-netdev", "-chardev", "-nic"].includes(option ?? "");
}

function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

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

/** Quotes a path for the shell qemu runs an `exec:` migration command with. */
export function shellQuote(file: string): string {
  return `'${file.replace(/'/g, "'\\''")}'`;
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
          const parsed = ManifestSchema.safeParse(raw);
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
