// Real-guest benchmarks (QEMU backend). Each figure is printed next to a baseline measured
// in the same run on the same machine:
//
//   1. cold create-to-first-exec of a workspace vs a bare qemu boot of the same kernel,
//      initramfs and rootfs to a shell that prints "ready";
//   2. warm exec round trip (p50/p99) vs spawning the same command inside the guest;
//   3. reset to baseline of a 10,000-file workspace vs a bare `tar -x` of the same
//      archive inside the guest;
//   4. workspace_diff of a 10,000-file workspace with 100 changes (cold: the first diff
//      after create; warm: the next ones) vs `diff -ruN` of the same two trees inside the
//      guest. `BENCH_GUEST_ONLY=diff` runs only this section;
//   5. the guest clock's offset from the host's over 20 boots/resets under load
//      (scripts/bench-guest-clock.mjs; BENCH_GUEST_ONLY=clock runs only this section);
//   6. (section "transfer", alone with BENCH_GUEST_ONLY=transfer) push and export of a
//      256 MiB incompressible file vs the guest copying the same file itself, 10,000 small
//      files pushed vs `tar -x` of the same tree in the guest, and the idle host memory
//      (RSS of qemu + supervisor) of a 1024 MiB guest after it allocated and freed memory.
//   7. (section "network", alone with BENCH_GUEST_ONLY=network) a 50 MB download from a
//      server on the host's loopback inside an egress guest vs the same download on the
//      host (scripts/bench-guest-network.mjs).
//   8. (section "templates", alone with BENCH_GUEST_ONLY=templates) create and reset
//      restored from a booted-guest template vs a cold boot, and the host memory of idle
//      restored vs cold-booted workspaces (scripts/bench-guest-templates.mjs).
//   9. (section "fork", alone with BENCH_GUEST_ONLY=fork) workspace_fork x4 of a 10,000-file
//      workspace vs one reset of it (scripts/bench-guest-fork.mjs).
//  10. (section "volumes", alone with BENCH_GUEST_ONLY=volumes) reset of 1,000 / 10,000 /
//      100,000-file workspaces on block-level volumes and snapshot create of 10,000 files,
//      next to the tar path they replace (scripts/bench-guest-volumes.mjs).
//
// Skipped (with the reason) when qemu or the debian:12 environment is missing.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Manager } from "../dist/runtime.js";
import { chooseAccelerator, findQemu } from "../dist/backends/qemu/detect.js";
import { qemuArgs } from "../dist/backends/qemu/qemu-args.js";
import { EnvironmentStore } from "../dist/environments/store.js";
import { defaultEnvironmentCacheDir } from "../dist/store/layout.js";
import { clockSection } from "./bench-guest-clock.mjs";
import { forkSection } from "./bench-guest-fork.mjs";
import { networkSection } from "./bench-guest-network.mjs";
import { BUILD_LIKE_RUN, templatesSection } from "./bench-guest-templates.mjs";
import { volumesSection } from "./bench-guest-volumes.mjs";

const COLD_ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 3);
const EXEC_ROUNDS = Number(process.env.BENCH_GUEST_EXEC_ROUNDS ?? 100);
const FILES = 10_000;

const store = new EnvironmentStore(defaultEnvironmentCacheDir());
if (!findQemu() || (await store.check("debian:12", { full: false })).status !== "installed") {
  console.log("guest benchmarks skipped: qemu or the debian:12 environment is missing");
  process.exit(0);
}
const artifacts = await store.bootArtifacts("debian:12");
const accel = chooseAccelerator().accel;

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const percentile = (samples, p) =>
  [...samples].sort((a, b) => a - b)[Math.min(samples.length - 1, Math.floor(samples.length * p))];
const median = (samples) => percentile(samples, 0.5);
/** Prints a figure, its baseline and the ratio of the two numbers given. */
const report = (label, pyro, baseline, ratio) =>
  console.log(
    `${label}\n  pyro      ${pyro}\n  baseline  ${baseline}\n` +
      `  ratio     ${(ratio[0] / ratio[1]).toFixed(2)}x`,
  );

/** Boots the environment with a shell as init that prints "ready"; ms until it does. */
async function bareBoot(dir) {
  const overlay = path.join(dir, "bare.qcow2");
  const consoleLog = path.join(dir, "bare-console.log");
  fs.rmSync(overlay, { force: true });
  fs.rmSync(consoleLog, { force: true });
  await new Promise((resolve, reject) =>
    spawn("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", artifacts.rootfs, overlay])
      .once("exit", (code) => (code === 0 ? resolve() : reject(new Error("qemu-img failed"))))
      .once("error", reject),
  );
  const args = qemuArgs(
    { vcpuCount: 1, memMib: 1024 },
    artifacts,
    { overlay, guestSocket: path.join(dir, "bare.sock"), consoleLog },
    accel,
  );
  const append = args.indexOf("-append") + 1;
  args[append] = `${args[append]} pyro.init=/bin/sh -- -c "echo ready; sleep 600"`;
  const start = process.hrtime.bigint();
  const qemu = spawn(findQemu(), args, { stdio: "ignore" });
  try {
    for (;;) {
      const text = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, "utf8") : "";
      if (/^ready/m.test(text)) return ms(start);
      if (qemu.exitCode !== null) throw new Error(`bare boot failed:\n${text.slice(-2000)}`);
      if (ms(start) > 120_000) throw new Error("bare boot timed out");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    qemu.kill("SIGKILL");
  }
}

/** 4. workspace_diff in a guest against `diff -ruN` of the same trees in the same guest. */
async function benchGuestDiff(manager, base) {
  const rounds = Number(process.env.BENCH_GUEST_DIFF_ROUNDS ?? 3);
  const seed = path.join(base, "diff-seed");
  for (let i = 0; i < FILES; i += 1) {
    const file = path.join(seed, `d${i % 100}`, `f${i}.txt`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `file ${i}\n`.repeat(20));
  }
  let start = process.hrtime.bigint();
  const { workspace_id: id } = await manager.createWorkspace({ seed_path: seed });
  const createMs = ms(start);
  // The baseline tree, extracted inside the guest for `diff -ruN`, outside /workspace.
  const tarDir = path.join(base, "diff-tar");
  fs.mkdirSync(tarDir);
  fs.copyFileSync(
    path.join(base, "state", "workspaces", id, "baseline", "workspace.tar"),
    path.join(tarDir, "baseline.tar"),
  );
  await manager.pushWorkspaceSync(id, { source_path: tarDir, dest: "/workspace/.bench" });
  await manager.execWorkspace(id, {
    command:
      "mkdir -p /tmp/base && tar -xf /workspace/.bench/baseline.tar -C /tmp/base && rm -rf /workspace/.bench && " +
      "for i in $(seq 0 99); do echo changed >> d$((i % 100))/f$((i * 100 + i % 100)).txt; done",
    timeout_seconds: 300,
  });
  start = process.hrtime.bigint();
  const first = await manager.diffWorkspace(id);
  const firstMs = ms(start);
  if (first.summary.total !== 100) throw new Error(`diff found ${first.summary.total} changes`);
  // Cold: every file's stamp changed (touched), so every digest is computed again.
  await manager.execWorkspace(id, {
    command: "find . -type f -exec touch {} +",
    timeout_seconds: 300,
  });
  start = process.hrtime.bigint();
  await manager.diffWorkspace(id);
  const coldMs = ms(start);
  // Past the racy window, one diff caches the digests again.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await manager.diffWorkspace(id);
  const warm = [];
  for (let round = 0; round < rounds; round += 1) {
    start = process.hrtime.bigint();
    await manager.diffWorkspace(id);
    warm.push(ms(start));
  }
  const baseline = [];
  for (let round = 0; round < rounds; round += 1) {
    const run = await manager.execWorkspace(id, {
      command:
        "s=$(date +%s%N); diff -ruN /tmp/base /workspace > /dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))",
      timeout_seconds: 300,
    });
    baseline.push(Number(run.stdout.trim()));
  }
  const diffRuN = median(baseline);
  report(
    `workspace_diff, ${FILES} files with 100 changes, warm (${rounds} rounds)`,
    `${median(warm).toFixed(0)} ms median (all: ${warm.map((v) => v.toFixed(0)).join(", ")})`,
    `${diffRuN} ms for \`diff -ruN\` of the same two trees inside the guest (all: ${baseline.join(", ")})`,
    [median(warm), diffRuN],
  );
  report(
    `workspace_diff, ${FILES} files with 100 changes, cold (every file touched: no digest reusable)`,
    `${coldMs.toFixed(0)} ms`,
    `${diffRuN} ms for \`diff -ruN\` inside the guest`,
    [coldMs, diffRuN],
  );
  report(
    `workspace_diff, ${FILES} files with 100 changes, first diff after create`,
    `${firstMs.toFixed(0)} ms`,
    `${diffRuN} ms for \`diff -ruN\` inside the guest`,
    [firstMs, diffRuN],
  );
  console.log(`create seeded with these ${FILES} files: ${(createMs / 1000).toFixed(1)} s`);
  await manager.deleteWorkspace(id);
}

/** Resident memory (KiB) of a process, from /proc. */
const rssKib = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);

/**
 * qemu's resident memory split by mapping (its largest anonymous mapping is the guest's
 * RAM, the executable one the TCG code cache), and the supervisor's.
 */
function memoryComponents(qemuPid, supervisorPid) {
  const maps = [];
  for (const line of fs.readFileSync(`/proc/${qemuPid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/.exec(line);
    if (head)
      maps.push({ size: parseInt(head[2], 16) - parseInt(head[1], 16), perms: head[3], rss: 0 });
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss && maps.length > 0) maps[maps.length - 1].rss += Number(rss[1]) / 1024;
  }
  const ram = maps.reduce((a, b) => (b.size > a.size ? b : a));
  const code = maps.filter((m) => m.perms.includes("x") && m.perms.includes("w"));
  const codeMib = code.reduce((sum, m) => sum + m.rss, 0);
  const total = rssKib(qemuPid) / 1024;
  return `qemu ${total.toFixed(0)} MiB (guest RAM ${ram.rss.toFixed(0)}, TCG code cache ${codeMib.toFixed(0)}, other ${(total - ram.rss - codeMib).toFixed(0)}), supervisor ${(rssKib(supervisorPid) / 1024).toFixed(0)} MiB`;
}

/** Section 6: the guest data path (transfer disk) and the memory an idle guest holds. */
async function transferBench() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-bench-transfer-"));
  const manager = new Manager({ baseDir: path.join(dir, "state"), backend: "qemu" });
  const MIB = 1024 * 1024;
  const BIG = Number(process.env.BENCH_TRANSFER_MIB ?? 256);
  try {
    const bigDir = path.join(dir, "big");
    fs.mkdirSync(bigDir);
    const blob = path.join(bigDir, "blob.bin");
    const fd = fs.openSync(blob, "w");
    for (let i = 0; i < BIG; i += 1) fs.writeSync(fd, crypto.randomBytes(MIB));
    fs.closeSync(fd);
    const digest = crypto.createHash("sha256").update(fs.readFileSync(blob)).digest("hex");
    let start = process.hrtime.bigint();
    const workspace = await manager.createWorkspace({});
    const createMs = ms(start);
    const id = workspace.workspace_id;
    const sh = async (command) =>
      (await manager.execWorkspace(id, { command, timeout_seconds: 600 })).stdout.trim();
    const timed = (command) =>
      sh(`s=$(date +%s%N); ${command}; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`).then(
        Number,
      );
    // Translated-code-heavy work (what a smaller TCG code cache slows down first).
    const nodeMs = await timed("for i in 1 2 3; do node -e 0; done");
    console.log(
      `cold create ${createMs.toFixed(0)} ms; 3 x \`node -e 0\` in the guest ${nodeMs} ms`,
    );
    const mbps = (msValue) => ((BIG * MIB) / 1e6 / (msValue / 1000)).toFixed(1);

    // Push: host directory -> /workspace/big, then the guest's own copy of the same bytes.
    start = process.hrtime.bigint();
    await manager.pushWorkspaceSync(id, { source_path: bigDir, dest: "/workspace/big" });
    const pushMs = ms(start);
    const guestDigest = (await sh("sha256sum /workspace/big/blob.bin")).split(" ")[0];
    if (guestDigest !== digest) throw new Error("pushed data differs from the source");
    const copyMs = await timed("cat /workspace/big/blob.bin > /workspace/copy.bin && sync");
    report(
      `push of a ${BIG} MiB incompressible file`,
      `${pushMs.toFixed(0)} ms (${mbps(pushMs)} MB/s)`,
      `${copyMs} ms for the guest to copy the same file on its own disk (${mbps(copyMs)} MB/s)`,
      [pushMs, copyMs],
    );

    // Export: /workspace/big/blob.bin -> a host file, vs the guest reading it cold.
    const out = path.join(dir, "exported.bin");
    start = process.hrtime.bigint();
    await manager.exportWorkspace(id, { path: "/workspace/big/blob.bin", output_path: out });
    const exportMs = ms(start);
    const outDigest = crypto.createHash("sha256").update(fs.readFileSync(out)).digest("hex");
    if (outDigest !== digest) throw new Error("exported data differs from the guest's file");
    const readMs = await timed(
      "sync; echo 3 > /proc/sys/vm/drop_caches; cat /workspace/big/blob.bin > /dev/null",
    );
    report(
      `export of a ${BIG} MiB incompressible file`,
      `${exportMs.toFixed(0)} ms (${mbps(exportMs)} MB/s)`,
      `${readMs} ms for the guest to read the same file cold (${mbps(readMs)} MB/s)`,
      [exportMs, readMs],
    );
    await sh("rm -rf /workspace/big /workspace/copy.bin");

    // 10,000 small files into a live /workspace vs GNU tar extracting the same tree.
    const small = path.join(dir, "small");
    for (let i = 0; i < FILES; i += 1) {
      const file = path.join(small, `d${i % 100}`, `f${i}.txt`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `file ${i}\n`);
    }
    start = process.hrtime.bigint();
    await manager.pushWorkspaceSync(id, { source_path: small, dest: "/workspace/small" });
    const smallMs = ms(start);
    const count = await sh("find /workspace/small -type f | wc -l");
    if (Number(count) !== FILES) throw new Error(`push left ${count} files`);
    await sh("tar -cf /tmp/small.tar -C /workspace small && mkdir /tmp/x /workspace/tar-x");
    const tarMs = await timed("tar -xf /tmp/small.tar -C /tmp/x && sync");
    report(
      `push of ${FILES} small files into /workspace`,
      `${smallMs.toFixed(0)} ms`,
      `${tarMs} ms for \`tar -x\` of the same tree inside the guest (into /tmp, on the root disk)`,
      [smallMs, tarMs],
    );
    // The same extraction where the push writes: /workspace is its own volume (its own
    // ext4, flushed to the host), so this is the like-for-like baseline. Neither syncs.
    const tarWorkspaceMs = await timed("tar -xf /tmp/small.tar -C /workspace/tar-x");
    report(
      `push of ${FILES} small files into /workspace, against tar into /workspace`,
      `${smallMs.toFixed(0)} ms`,
      `${tarWorkspaceMs} ms for \`tar -x\` of the same tree into /workspace inside the guest`,
      [smallMs, tarWorkspaceMs],
    );

    // Idle memory after a build-like run: the guest writes, reads and deletes 300 MiB of
    // files (a build's objects), reads its toolchain (/usr/lib: page cache), allocates 700
    // MiB and frees it, then idles. Reported per component (qemu's guest RAM and TCG code
    // cache from its smaps, the supervisor).
    const runtime = JSON.parse(
      fs.readFileSync(path.join(dir, "state", "workspaces", id, "workspace.json"), "utf8"),
    ).runtime;
    const hostRss = () => (rssKib(runtime.vmm_pid) + rssKib(runtime.pid)) / 1024;
    const beforeMib = hostRss();
    for (const command of BUILD_LIKE_RUN) await sh(command);
    const peakMib = hostRss();
    const IDLE_SECONDS = 30;
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const idleMib = hostRss();
    report(
      "idle host memory of a 1024 MiB guest (qemu + supervisor RSS)",
      `${idleMib.toFixed(0)} MiB ${IDLE_SECONDS} s after a build-like run (${peakMib.toFixed(0)} MiB right after)`,
      `${beforeMib.toFixed(0)} MiB before that run (after the transfers above)`,
      [idleMib, beforeMib],
    );
    console.log(`  where: ${memoryComponents(runtime.vmm_pid, runtime.pid)}`);
    await manager.deleteWorkspace(id);
  } finally {
    manager.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_GUEST_ONLY === "network" || !process.env.BENCH_GUEST_ONLY) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-bench-network-"));
  try {
    await networkSection(dir, report);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (process.env.BENCH_GUEST_ONLY) process.exit(0);
}

if (process.env.BENCH_GUEST_ONLY === "transfer") {
  await transferBench();
  process.exit(0);
}

const base = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-bench-guest-"));
const manager = new Manager({ baseDir: path.join(base, "state"), backend: "qemu" });
if (process.env.BENCH_GUEST_ONLY === "clock") {
  try {
    await clockSection(manager, base);
  } finally {
    manager.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
  process.exit(0);
}
try {
  console.log(`guest benchmarks: qemu microvm, ${accel.toUpperCase()}, 1 vCPU, 1024 MiB`);
  if (process.env.BENCH_GUEST_ONLY === "templates") {
    await templatesSection(manager, report);
    manager.close();
    fs.rmSync(base, { recursive: true, force: true });
    process.exit(0);
  }
  if (process.env.BENCH_GUEST_ONLY === "fork") {
    await forkSection(base, report);
    manager.close();
    fs.rmSync(base, { recursive: true, force: true });
    process.exit(0);
  }
  if (process.env.BENCH_GUEST_ONLY === "volumes") {
    await volumesSection(manager, base, report);
    manager.close();
    fs.rmSync(base, { recursive: true, force: true });
    process.exit(0);
  }
  if (process.env.BENCH_GUEST_ONLY === "diff") {
    await benchGuestDiff(manager, base);
    manager.close();
    fs.rmSync(base, { recursive: true, force: true });
    process.exit(0);
  }

  // ---- 1. cold create to first exec ------------------------------------------------------
  const cold = [];
  const bare = [];
  for (let round = 0; round < COLD_ROUNDS; round += 1) {
    bare.push(await bareBoot(base));
    const start = process.hrtime.bigint();
    const workspace = await manager.createWorkspace({});
    await manager.execWorkspace(workspace.workspace_id, { command: "true" });
    cold.push(ms(start));
    await manager.deleteWorkspace(workspace.workspace_id);
  }
  report(
    `cold create-to-first-exec (${COLD_ROUNDS} rounds)`,
    `${median(cold).toFixed(0)} ms (all: ${cold.map((v) => v.toFixed(0)).join(", ")})`,
    `${median(bare).toFixed(0)} ms bare boot to "ready" (all: ${bare.map((v) => v.toFixed(0)).join(", ")})`,
    [median(cold), median(bare)],
  );

  // ---- 2. warm exec round trip -----------------------------------------------------------
  const seed = path.join(base, "seed");
  for (let i = 0; i < FILES; i += 1) {
    const file = path.join(seed, `d${i % 100}`, `f${i}.txt`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `file ${i}\n`);
  }
  let start = process.hrtime.bigint();
  const workspace = await manager.createWorkspace({ seed_path: seed });
  const createMs = ms(start);
  const id = workspace.workspace_id;
  for (let i = 0; i < 5; i += 1) await manager.execWorkspace(id, { command: "true" });
  const execs = [];
  for (let i = 0; i < EXEC_ROUNDS; i += 1) {
    const t = process.hrtime.bigint();
    await manager.execWorkspace(id, { command: "true" });
    execs.push(ms(t));
  }
  const inGuest = await manager.execWorkspace(id, {
    command: `s=$(date +%s%N); for i in $(seq ${EXEC_ROUNDS}); do /bin/sh -c true; done; e=$(date +%s%N); echo $(( (e - s) / ${EXEC_ROUNDS} / 1000 ))`,
    timeout_seconds: 120,
  });
  const spawnMs = Number(inGuest.stdout.trim()) / 1000;
  report(
    `warm exec round trip, \`true\` (${EXEC_ROUNDS} rounds)`,
    `p50 ${median(execs).toFixed(1)} ms, p99 ${percentile(execs, 0.99).toFixed(1)} ms`,
    `${spawnMs.toFixed(1)} ms per \`sh -c true\` spawned inside the guest (mean)`,
    [median(execs), spawnMs],
  );

  // ---- 3. reset to baseline, 10,000 files ------------------------------------------------
  await manager.execWorkspace(id, { command: "rm -rf d1 d2 && echo changed > d3/f3.txt" });
  start = process.hrtime.bigint();
  await manager.resetWorkspace(id);
  const resetMs = ms(start);
  const check = await manager.execWorkspace(id, { command: "find . -type f | wc -l" });
  if (Number(check.stdout.trim()) !== FILES) throw new Error(`reset restored ${check.stdout}`);
  // The same archive, extracted by GNU tar inside the guest.
  const tarDir = path.join(base, "tar");
  fs.mkdirSync(tarDir);
  fs.copyFileSync(
    path.join(base, "state", "workspaces", id, "baseline", "workspace.tar"),
    path.join(tarDir, "baseline.tar"),
  );
  await manager.pushWorkspaceSync(id, { source_path: tarDir, dest: "/workspace/.bench" });
  const tarRun = await manager.execWorkspace(id, {
    command:
      "mkdir -p /tmp/x && s=$(date +%s%N) && tar -xf /workspace/.bench/baseline.tar -C /tmp/x && sync && e=$(date +%s%N) && echo $(( (e - s) / 1000000 ))",
    timeout_seconds: 300,
  });
  const bootOnly = median(cold);
  report(
    `reset to baseline, ${FILES} files (create with this seed took ${(createMs / 1000).toFixed(1)} s)`,
    `${resetMs.toFixed(0)} ms (of which a cold boot is about ${bootOnly.toFixed(0)} ms)`,
    `${Number(tarRun.stdout.trim())} ms for \`tar -x\` of the same archive inside the guest`,
    [resetMs, Number(tarRun.stdout.trim())],
  );
  await manager.deleteWorkspace(id);

  // ---- 4. workspace_diff ----------------------------------------------------------------
  await benchGuestDiff(manager, base);

  // ---- 5. guest clock under load ---------------------------------------------------------
  await clockSection(manager, base);

  // ---- 7. booted-guest templates ---------------------------------------------------------
  await templatesSection(manager, report);

  // ---- 9. workspace_fork ----------------------------------------------------------------
  await forkSection(base, report);

  // ---- 10. block-level workspace volumes --------------------------------------------------
  await volumesSection(manager, base, report);
} finally {
  manager.close();
  fs.rmSync(base, { recursive: true, force: true });
}
if (!process.env.BENCH_GUEST_ONLY) await transferBench();
