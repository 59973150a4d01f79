// Block-level workspace volumes (issue 11; BENCH_GUEST_ONLY=volumes runs only this
// section): reset to baseline -> first exec of workspaces seeded with 1,000 / 10,000 /
// 100,000 small files, each next to the reset of an empty workspace without a volume (a
// template restore and nothing else: the floor); the 10,000-file reset through the old
// tar path (PYRO_WORKSPACE_VOLUMES=0) in the same run; and snapshot create of 10,000 files
// on a volume vs the old tar snapshot of the same tree.
import fs from "node:fs";
import path from "node:path";

const ROUNDS = Number(process.env.BENCH_VOLUME_ROUNDS ?? 3);
/** BENCH_VOLUME_SIZES=1000,10000 to leave the 100,000-file seed out (it takes minutes). */
const SIZES = (process.env.BENCH_VOLUME_SIZES ?? "1000,10000,100000").split(",").map(Number);

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const list = (samples) => samples.map((v) => v.toFixed(0)).join(", ");

/** N files of a few bytes, 100 to a directory. */
function makeTree(dir, count) {
  for (let index = 0; index < count; index += 1) {
    const sub = path.join(dir, `d${Math.floor(index / 100)}`);
    if (index % 100 === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${index}.txt`), `file ${index}\n`);
  }
  return dir;
}

async function withVolumes(on, fn) {
  const saved = process.env.PYRO_WORKSPACE_VOLUMES;
  process.env.PYRO_WORKSPACE_VOLUMES = on ? "1" : "0";
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.PYRO_WORKSPACE_VOLUMES;
    else process.env.PYRO_WORKSPACE_VOLUMES = saved;
  }
}

/**
 * Reset to baseline then the first exec (`true`), ROUNDS times; the samples (ms), and in
 * `resetOnly` those of the reset alone (the issue's own figure: a reset's answer). The file
 * count is checked after the clock stops (walking 100,000 files under TCG takes seconds).
 */
async function resets(manager, id, expected) {
  const samples = [];
  samples.resetOnly = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const start = process.hrtime.bigint();
    await manager.resetWorkspace(id);
    samples.resetOnly.push(ms(start));
    await manager.execWorkspace(id, { command: "true" });
    samples.push(ms(start));
    const check = await manager.execWorkspace(id, { command: "find . -type f | wc -l" });
    if (Number(check.stdout.trim()) !== expected) {
      throw new Error(`reset restored ${check.stdout.trim()} files, expected ${expected}`);
    }
  }
  return samples;
}

export async function volumesSection(manager, base, report) {
  const floorWs = await withVolumes(false, () => manager.createWorkspace({}));
  const floor = await resets(manager, floorWs.workspace_id, 0);
  await manager.deleteWorkspace(floorWs.workspace_id);
  const byCount = new Map();
  for (const count of SIZES) {
    const seed = makeTree(fs.mkdtempSync(path.join(base, `seed-${count}-`)), count);
    const start = process.hrtime.bigint();
    const ws = await manager.createWorkspace({ seed_path: seed });
    const createMs = ms(start);
    const samples = await resets(manager, ws.workspace_id, count);
    byCount.set(count, median(samples));
    report(
      `reset -> first exec, ${count} files on a volume (create with this seed took ${(createMs / 1000).toFixed(1)} s)`,
      `${median(samples).toFixed(0)} ms median (${list(samples)})`,
      `${median(floor).toFixed(0)} ms median (${list(floor)}): reset of an empty workspace without a volume`,
      [median(samples), median(floor)],
    );
    if (count === 10_000) await snapshotFigures(manager, ws.workspace_id, seed, samples, report);
    await manager.deleteWorkspace(ws.workspace_id);
    fs.rmSync(seed, { recursive: true, force: true });
  }
  const smallest = byCount.get(Math.min(...byCount.keys()));
  for (const [count, value] of byCount) {
    if (count === Math.min(...byCount.keys())) continue;
    report(
      `reset flatness: ${count} files vs ${Math.min(...byCount.keys())} files (goal: within 1.5x)`,
      `${value.toFixed(0)} ms`,
      `${smallest.toFixed(0)} ms`,
      [value, smallest],
    );
  }
}

/** Snapshot create of 10,000 files on a volume vs a tar snapshot; the old reset too. */
async function snapshotFigures(manager, id, seed, volumeResets, report) {
  const volume = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const start = process.hrtime.bigint();
    await manager.createSnapshot(id, `bench-${round}`);
    volume.push(ms(start));
  }
  const old = await withVolumes(false, () => manager.createWorkspace({ seed_path: seed }));
  try {
    const tar = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const start = process.hrtime.bigint();
      await manager.createSnapshot(old.workspace_id, `bench-${round}`);
      tar.push(ms(start));
    }
    report(
      "snapshot create, 10000 files: volume point vs tar snapshot (goal: <= 0.5 s)",
      `${median(volume).toFixed(0)} ms median (${list(volume)})`,
      `${median(tar).toFixed(0)} ms median (${list(tar)}): the tar snapshot (before volumes)`,
      [median(volume), median(tar)],
    );
    const oldResets = await resets(manager, old.workspace_id, 10_000);
    const { resetOnly } = volumeResets;
    report(
      "reset alone (to its answer), 10000 files: volume vs the tar path (goal: <= 1.5 s)",
      `${median(resetOnly).toFixed(0)} ms median (${list(resetOnly)})`,
      `${median(oldResets.resetOnly).toFixed(0)} ms median (${list(oldResets.resetOnly)}): template restore + tar extract (before volumes)`,
      [median(resetOnly), median(oldResets.resetOnly)],
    );
    report(
      "reset -> first exec, 10000 files: volume vs the tar path (goal: <= 1.5 s)",
      `${median(volumeResets).toFixed(0)} ms median (${list(volumeResets)})`,
      `${median(oldResets).toFixed(0)} ms median (${list(oldResets)}): template restore + tar extract (before volumes)`,
      [median(volumeResets), median(oldResets)],
    );
  } finally {
    await manager.deleteWorkspace(old.workspace_id);
  }
}
