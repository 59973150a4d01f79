/**
 * The handle API walked end to end (issue 16): create -> exec with streaming -> files ->
 * snapshot -> reset -> diff -> shells -> services -> dispose, through `await using`. Shared
 * by the host test (test/sdk-handles.test.ts) and the one QEMU boot
 * (test/sdk-handles-qemu.test.ts), so both backends answer the very same checks.
 */
import fs from "node:fs";
import path from "node:path";

import { expect } from "vitest";

import type { CreateWorkspaceInput, Pyro } from "../src/index.js";

export async function walkThroughHandle(
  pyro: Pyro,
  input: CreateWorkspaceInput,
  exportDir: string,
): Promise<void> {
  const before = Date.now();
  let id: string;
  {
    await using ws = await pyro.workspaces.create({ ...input, name: "handle" });
    id = ws.id;
    expect(ws.name).toBe("handle");
    expect(ws.createdAt).toBeInstanceOf(Date);
    expect(ws.createdAt.getTime()).toBeGreaterThanOrEqual(before - 2_000);
    expect(ws.expiresAt.getTime()).toBeGreaterThan(ws.createdAt.getTime());
    // get by name and list find the same workspace.
    expect((await pyro.workspaces.get("handle")).id).toBe(id);
    expect((await pyro.workspaces.list()).map((row) => row.workspace_id)).toContain(id);

    // exec: output streamed as it arrives, and whole in the result.
    const chunks: string[] = [];
    const errors: string[] = [];
    const run = await ws.exec("echo one; sleep 0.3; echo two; echo oops >&2", {
      onStdout: (text) => chunks.push(text),
      onStderr: (text) => errors.push(text),
      env: { GREETING: "hi" },
      timeoutSeconds: 30,
    });
    expect(run).toMatchObject({ exit_code: 0, stdout: "one\ntwo\n", stderr: "oops\n" });
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.join("")).toBe("one\ntwo\n");
    expect(errors.join("")).toBe("oops\n");
    await ws.exec("mkdir sub");
    const inSub = await ws.exec('echo "$GREETING" "$(basename "$PWD")"', {
      env: { GREETING: "hi" },
      cwd: "sub",
    });
    expect(inSub.stdout).toBe("hi sub\n");

    // files: text, bytes, listing.
    await ws.files.write("notes/a.txt", "alpha\n");
    await ws.files.write("bin.dat", new Uint8Array([0, 1, 2, 255]), { mode: "0600" });
    expect(await ws.files.read("notes/a.txt")).toMatchObject({
      content: "alpha\n",
      encoding: "utf8",
    });
    const binary = await ws.files.read("bin.dat");
    expect(binary).toMatchObject({ encoding: "base64", mode: "0600" });
    expect([...Buffer.from(binary.content, "base64")]).toEqual([0, 1, 2, 255]);
    const listed = await ws.files.list("/workspace", { recursive: true });
    expect(listed.entries.map((entry) => entry.path)).toEqual(
      expect.arrayContaining(["/workspace/notes/a.txt", "/workspace/bin.dat"]),
    );

    // snapshot -> damage -> reset to it -> diff against the baseline.
    const snapshot = await ws.snapshot("good");
    expect(snapshot).toMatchObject({ snapshot_name: "good", kind: "named" });
    await ws.exec("rm notes/a.txt && echo junk > junk.txt");
    const reset = await ws.reset("good");
    expect(reset.reset_count).toBe(1);
    expect(ws.info.reset_count).toBe(1);
    expect((await ws.snapshots()).map((each) => each.snapshot_name)).toEqual(["baseline", "good"]);
    const diff = await ws.diff();
    expect(diff.entries.map((entry) => `${entry.status} ${entry.path}`).sort()).toEqual([
      "added bin.dat",
      "added notes/a.txt",
      "added sub",
    ]);
    const exported = await ws.export("notes", path.join(exportDir, "notes"));
    expect(exported.artifact_type).toBe("directory");
    expect(fs.readFileSync(path.join(exportDir, "notes", "a.txt"), "utf8")).toBe("alpha\n");

    // shells: the handle keeps the read cursor, so each read sees new output only.
    {
      await using shell = await ws.shells.open({ cols: 100, rows: 20 });
      expect(shell.startedAt).toBeInstanceOf(Date);
      await shell.write("echo marker-$((40 + 2))");
      const first = await readShellUntil(shell, "marker-42");
      expect(first).toContain("marker-42");
      // (What INT does to a foreground job is shells.test.ts's; here: the handle sends it.)
      expect((await shell.signal("INT")).signal).toBe("INT");
      await shell.write("echo after-$((1 + 1))");
      expect(await readShellUntil(shell, "after-2")).not.toContain("marker-42");
    }

    // services: readiness union, status, logs, stop.
    const service = await ws.services.start("web", "echo started; touch .ready; exec sleep 60", {
      readiness: { type: "file", path: ".ready" },
      readyTimeoutSeconds: 30,
    });
    expect(service.info.state).toBe("running");
    expect(service.readyAt).toBeInstanceOf(Date);
    expect((await service.status()).state).toBe("running");
    expect((await ws.services.list()).map((each) => each.service_name)).toEqual(["web"]);
    await expectEventually(async () => (await service.logs()).stdout === "started\n");
    const stopped = await service.stop();
    expect(stopped.state).toBe("stopped");
    expect(service.endedAt).toBeInstanceOf(Date);
  }
  // Leaving the block deleted the workspace.
  await expect(pyro.workspaces.get(id)).rejects.toMatchObject({ code: "not_found" });
}

async function readShellUntil(
  shell: { read: (options: { waitSeconds: number }) => Promise<{ output: string }> },
  needle: string,
): Promise<string> {
  let seen = "";
  const deadline = Date.now() + 20_000;
  while (!seen.includes(needle) && Date.now() < deadline)
    seen += (await shell.read({ waitSeconds: 2 })).output;
  return seen;
}

async function expectEventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
