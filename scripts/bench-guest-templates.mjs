// Booted-guest templates (BENCH_GUEST_ONLY=templates runs only this section): create to
// first exec and reset, restored from a template vs a cold boot (PYRO_QEMU_TEMPLATES=0),
// measured alternately in the same run; the host memory (sum of PSS of the qemu
// processes) of idle restored vs cold-booted workspaces; and (part "freed") the memory a
// restored workspace holds idle after a build-like run, with the private-discard guard
// (its balloon) vs without it (PYRO_QEMU_PRIVATE_DISCARD=0) vs a cold boot.
import fs from "node:fs";
import path from "node:path";

const ROUNDS = Number(process.env.BENCH_TEMPLATE_ROUNDS ?? 3);
const IDLE_COUNT = Number(process.env.BENCH_TEMPLATE_IDLE_COUNT ?? 4);
/** Which parts to run: BENCH_TEMPLATE_PARTS=create,reset,memory,freed (default: all). */
const PARTS = new Set((process.env.BENCH_TEMPLATE_PARTS ?? "create,reset,memory,freed").split(","));

/**
 * A build-like run: the guest writes, reads and deletes 300 MiB of files (a build's
 * objects), reads its toolchain (/usr/lib: page cache), then allocates 700 MiB and frees it.
 */
export const BUILD_LIKE_RUN = [
  "cd /workspace && for i in 1 2 3 4 5 6; do head -c 50M /dev/urandom > o$i; done; cat o* | sha256sum > /dev/null; rm -f o*; tar -cf - /usr/lib 2>/dev/null | wc -c > /dev/null",
  `node -e "const b = Buffer.alloc(700 * 1024 * 1024, 1); console.log(b[5])"`,
];

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const list = (samples) => samples.map((v) => v.toFixed(0)).join(", ");

/** Runs `fn` with templates on (`true`) or off. */
async function withTemplates(on, fn) {
  return withVariable("PYRO_QEMU_TEMPLATES", on ? "1" : "0", fn);
}

async function withVariable(name, value, fn) {
  const saved = process.env[name];
  process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

function bootMode(manager, id) {
  const file = path.join(manager.context.layout.workspaceDir(id), "workspace.json");
  const runtime = JSON.parse(fs.readFileSync(file, "utf8")).runtime;
  return runtime?.boot_mode ?? "cold";
}

/** PSS and RSS of a process (kB): a restored guest's pages shared with others count in RSS whole. */
function memoryKib(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
    return { pss: field("Pss"), rss: field("Rss") };
  } catch {
    return { pss: 0, rss: 0 };
  }
}

async function createToExec(manager, on) {
  return withTemplates(on, async () => {
    const start = process.hrtime.bigint();
    const { workspace_id: id } = await manager.createWorkspace({});
    await manager.execWorkspace(id, { command: "true" });
    const elapsed = ms(start);
    const mode = bootMode(manager, id);
    await manager.deleteWorkspace(id);
    if (mode !== (on ? "template" : "cold"))
      throw new Error(`expected a ${on ? "template" : "cold"} boot, got ${mode}`);
    return elapsed;
  });
}

async function idleMemory(manager, on) {
  return withTemplates(on, async () => {
    const ids = [];
    try {
      for (let i = 0; i < IDLE_COUNT; i += 1) {
        const { workspace_id: id } = await manager.createWorkspace({});
        await manager.execWorkspace(id, { command: "true" });
        ids.push(id);
      }
      // Idle: free page reporting hands back what the boot freed.
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      let pss = 0;
      let rss = 0;
      for (const id of ids) {
        const file = path.join(manager.context.layout.workspaceDir(id), "workspace.json");
        const used = memoryKib(JSON.parse(fs.readFileSync(file, "utf8")).runtime.vmm_pid);
        pss += used.pss;
        rss += used.rss;
      }
      return { pss: pss / 1024, rss: rss / 1024 };
    } finally {
      for (const id of ids) await manager.deleteWorkspace(id);
    }
  });
}

export async function templatesSection(manager, report) {
  // The first restore builds the shape's template (if this pyro has none yet): not timed.
  const start = process.hrtime.bigint();
  await createToExec(manager, true);
  console.log(`template warm-up (builds the template when missing): ${ms(start).toFixed(0)} ms`);
  if (PARTS.has("create")) await createSection(manager, report);
  if (PARTS.has("reset")) await resetSection(manager, report);
  if (PARTS.has("memory")) await memorySection(manager, report);
  if (PARTS.has("freed")) await freedSection(manager, report);
}

async function createSection(manager, report) {
  const cold = [];
  const restored = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    cold.push(await createToExec(manager, false));
    restored.push(await createToExec(manager, true));
  }
  report(
    `create-to-first-exec from a template (${ROUNDS} rounds, alternating; goal <= 0.25x)`,
    `${median(restored).toFixed(0)} ms restored (all: ${list(restored)})`,
    `${median(cold).toFixed(0)} ms cold boot (all: ${list(cold)})`,
    [median(restored), median(cold)],
  );
}

async function resetSection(manager, report) {
  const { workspace_id: id } = await manager.createWorkspace({});
  const resetCold = [];
  const resetRestored = [];
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const on of [false, true]) {
        await withTemplates(on, async () => {
          const start = process.hrtime.bigint();
          await manager.resetWorkspace(id);
          await manager.execWorkspace(id, { command: "true" });
          (on ? resetRestored : resetCold).push(ms(start));
        });
      }
    }
  } finally {
    await manager.deleteWorkspace(id);
  }
  report(
    `reset (empty workspace) to first exec from a template (${ROUNDS} rounds, alternating)`,
    `${median(resetRestored).toFixed(0)} ms restored (all: ${list(resetRestored)})`,
    `${median(resetCold).toFixed(0)} ms cold boot (all: ${list(resetCold)})`,
    [median(resetRestored), median(resetCold)],
  );
}

async function memorySection(manager, report) {
  const restored = await idleMemory(manager, true);
  const cold = await idleMemory(manager, false);
  report(
    `host memory of ${IDLE_COUNT} idle workspaces, 15 s after their first exec (sum of qemu PSS)`,
    `${restored.pss.toFixed(0)} MiB restored from a template (RSS ${restored.rss.toFixed(0)} MiB)`,
    `${cold.pss.toFixed(0)} MiB cold-booted (RSS ${cold.rss.toFixed(0)} MiB)`,
    [restored.pss, cold.pss],
  );
}

/**
 * RSS (qemu + supervisor) and qemu's PSS of one workspace idle after a build-like run; with
 * `suspendSeconds`, its guest is suspended after that long idle (docs/qemu-backend.md, "Idle
 * suspension"), and the first exec afterwards (which resumes it) is timed against a warm one.
 */
async function idleAfterBuild(manager, { templates, guard, suspendSeconds = 0 }) {
  return withTemplates(templates, () =>
    withVariable("PYRO_QEMU_PRIVATE_DISCARD", guard ? "1" : "0", () =>
      withVariable("PYRO_IDLE_SUSPEND_SECONDS", String(suspendSeconds), async () => {
        const { workspace_id: id } = await manager.createWorkspace({});
        try {
          for (const command of BUILD_LIKE_RUN) {
            await manager.execWorkspace(id, { command, timeout_seconds: 600 });
          }
          await new Promise((resolve) => setTimeout(resolve, FREED_IDLE_SECONDS * 1000));
          const dir = manager.context.layout.workspaceDir(id);
          const runtime = JSON.parse(
            fs.readFileSync(path.join(dir, "workspace.json"), "utf8"),
          ).runtime;
          const suspended = fs.existsSync(path.join(dir, "runtime", "suspended.json"));
          const qemu = memoryKib(runtime.vmm_pid);
          const supervisor = memoryKib(runtime.pid);
          const timeExec = async () => {
            const start = process.hrtime.bigint();
            await manager.execWorkspace(id, { command: "true" });
            return ms(start);
          };
          const resumeMs = suspended ? await timeExec() : null;
          const warmMs = suspended ? await timeExec() : null;
          return {
            mode: runtime.boot_mode,
            suspended,
            rss: (qemu.rss + supervisor.rss) / 1024,
            pss: (qemu.pss + supervisor.pss) / 1024,
            resumeMs,
            warmMs,
          };
        } finally {
          await manager.deleteWorkspace(id);
        }
      }),
    ),
  );
}

const FREED_IDLE_SECONDS = 30;
/** The bench's idle suspend: well inside FREED_IDLE_SECONDS (the default is 300 s). */
const BENCH_SUSPEND_SECONDS = 15;

async function freedSection(manager, report) {
  const kept = await idleAfterBuild(manager, { templates: true, guard: true });
  const suspended = await idleAfterBuild(manager, {
    templates: true,
    guard: true,
    suspendSeconds: BENCH_SUSPEND_SECONDS,
  });
  const cold = await idleAfterBuild(manager, { templates: false, guard: true });
  if (kept.mode !== "template" || suspended.mode !== "template") {
    throw new Error(`expected restored guests, got ${kept.mode} and ${suspended.mode}`);
  }
  if (!suspended.suspended) throw new Error("the idle guest was not suspended");
  const line = (m) => `${m.rss.toFixed(0)} MiB RSS (PSS ${m.pss.toFixed(0)} MiB)`;
  report(
    `idle host memory ${FREED_IDLE_SECONDS} s after a build-like run, restored guest (qemu + supervisor; goal RSS <= 300 MiB)`,
    `${line(suspended)} suspended after ${BENCH_SUSPEND_SECONDS} s idle (PYRO_IDLE_SUSPEND_SECONDS)`,
    `${line(kept)} kept running (PYRO_IDLE_SUSPEND_SECONDS=0); cold boot kept running: ${line(cold)}`,
    [suspended.rss, kept.rss],
  );
  report(
    "first exec after an idle suspend (resumes the guest) vs the next, warm one",
    `${suspended.resumeMs.toFixed(0)} ms (resume + exec)`,
    `${suspended.warmMs.toFixed(0)} ms warm`,
    [suspended.resumeMs, suspended.warmMs],
  );
}
