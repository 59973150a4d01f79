// The guest clock section of scripts/bench-guest.mjs (BENCH_GUEST_ONLY=clock runs it
// alone): under two CPU-burning host processes, one create and BENCH_CLOCK_BOOTS - 1 resets
// of a workspace (each a fresh boot), the guest-vs-host clock offset right after the boot
// returns and after a push. The offset is the guest's `date` against the host's time at
// the midpoint of the exec round trip; it is known only to within half of that round trip
// (seconds under this load), so the section also reports the bound it proves: the worst
// offset still consistent with every sample. After a push: how far the pushed file's
// mtime lies ahead of the guest's clock (what make calls clock skew). The baseline is the
// tolerance, 500 ms.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const BOOTS = Number(process.env.BENCH_CLOCK_BOOTS ?? 20);
const TOLERANCE_MS = 500;

/** Guest minus host (ms), the round trip, the guest's clocksource and the file's skew. */
async function measure(manager, id, file) {
  const before = Date.now();
  const result = await manager.execWorkspace(id, {
    command:
      "date +%s.%N; cat /sys/devices/system/clocksource/clocksource0/current_clocksource" +
      (file ? `; find ${file} -printf '%T@\\n'` : ""),
  });
  const after = Date.now();
  const [guest, source, mtime] = result.stdout.trim().split("\n");
  const guestMs = Number(guest) * 1000;
  return {
    offset: guestMs - (before + after) / 2,
    // The guest read its clock between `before` and `after`: the offset lies in this range.
    lowest: guestMs - after,
    highest: guestMs - before,
    roundTrip: after - before,
    source,
    skew: mtime === undefined ? null : Number(mtime) * 1000 - guestMs,
  };
}

export async function clockSection(manager, base) {
  const burners = [0, 1].map(() =>
    spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }),
  );
  const pushDir = path.join(base, "clock-push");
  fs.mkdirSync(pushDir, { recursive: true });
  const rows = [];
  let id = null;
  try {
    for (let boot = 0; boot < BOOTS; boot += 1) {
      // 20 boots under load outlast the default 10-minute lifetime.
      if (id === null) id = (await manager.createWorkspace({ ttl_seconds: 7200 })).workspace_id;
      else await manager.resetWorkspace(id);
      const booted = await measure(manager, id);
      // A file written on the host just now, pushed with its mtime.
      fs.writeFileSync(path.join(pushDir, "pushed.c"), `int x = ${boot};\n`);
      await manager.pushWorkspaceSync(id, { source_path: pushDir, dest: "/workspace/src" });
      const pushed = await measure(manager, id, "/workspace/src/pushed.c");
      rows.push({ booted, pushed });
      console.log(
        `  boot ${String(boot + 1).padStart(2)}: after boot ${booted.offset.toFixed(0)} ms ` +
          `(round trip ${booted.roundTrip} ms, ${booted.source}); after push ` +
          `${pushed.offset.toFixed(0)} ms (round trip ${pushed.roundTrip} ms), ` +
          `pushed file ${pushed.skew > 0 ? "ahead of" : "behind"} the guest clock by ${Math.abs(pushed.skew).toFixed(0)} ms`,
      );
    }
  } finally {
    for (const burner of burners) burner.kill("SIGKILL");
    if (id !== null) await manager.deleteWorkspace(id).catch(() => undefined);
  }
  const offsets = rows.flatMap(({ booted, pushed }) => [booted.offset, pushed.offset]);
  const worst = Math.max(...offsets.map(Math.abs));
  // The smallest |offset| each sample allows (0 when its range contains 0), then the worst.
  const proven = Math.max(
    ...rows
      .flatMap(({ booted, pushed }) => [booted, pushed])
      .map(({ lowest, highest }) => Math.max(0, lowest, -highest)),
  );
  const sources = [...new Set(rows.map(({ booted }) => booted.source))].join(", ");
  const worstSkew = Math.max(...rows.map(({ pushed }) => pushed.skew));
  console.log(
    `guest clock offset, ${BOOTS} boots/resets under 2 CPU burners (clocksource: ${sources})\n` +
      `  pyro      worst |offset| ${worst.toFixed(0)} ms at the round trips' midpoints ` +
      `(${offsets.length} samples; at least ${proven.toFixed(0)} ms for certain); ` +
      `pushed file at most ${worstSkew.toFixed(0)} ms ahead of the guest clock\n` +
      `  baseline  tolerance ${TOLERANCE_MS} ms\n` +
      `  ratio     ${(worst / TOLERANCE_MS).toFixed(2)}x`,
  );
}
