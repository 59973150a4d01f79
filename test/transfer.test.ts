/**
 * The agent's transfer staging (src/agent/transfer.ts): exports stream through a FIFO with
 * no staged copy, and every way a producer or the client can fail ends the call without a
 * hang or a leftover file.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { prepareScratch, streamProduced } from "../src/agent/transfer.js";

let scratch: string;

afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

function freshScratch(): string {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pyro-scratch-"));
  return scratch;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore" });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
    );
  });
}

describe("agent transfers", () => {
  it("streams what the producer writes, in order, without a staged copy", async () => {
    const dir = freshScratch();
    const payload = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let index = 0; index < payload.length; index++) payload[index] = (index * 7919) % 251;
    const source = path.join(os.tmpdir(), `pyro-payload-${process.pid}`);
    fs.writeFileSync(source, payload);
    const chunks: Buffer[] = [];
    let stagedWhileStreaming = -1;
    try {
      const { result, size } = await streamProduced(
        dir,
        "export.tar",
        async (chunk) => {
          chunks.push(chunk);
          // Only the FIFO is in the scratch dir while data flows: nothing is staged there.
          const files = fs.readdirSync(dir).filter((name) => !name.endsWith(".fifo"));
          stagedWhileStreaming = Math.max(stagedWhileStreaming, files.length);
        },
        async (fifo) => {
          expect(fs.statSync(fifo).isFIFO()).toBe(true);
          await run("cp", [source, fifo]);
          return "produced";
        },
      );
      expect(result).toBe("produced");
      expect(size).toBe(payload.length);
      expect(stagedWhileStreaming).toBe(0);
      const digest = (data: Buffer) => createHash("sha256").update(data).digest("hex");
      expect(digest(Buffer.concat(chunks))).toBe(digest(payload));
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(source, { force: true });
    }
  });

  it("ends when the producer wrote nothing or failed before opening the FIFO", async () => {
    const dir = freshScratch();
    const sent: Buffer[] = [];
    const empty = await streamProduced(
      dir,
      "x.tar",
      async (chunk) => void sent.push(chunk),
      () => Promise.resolve(0),
    );
    expect(empty).toEqual({ result: 0, size: 0 });
    await expect(
      streamProduced(
        dir,
        "x.tar",
        async (chunk) => void sent.push(chunk),
        () => Promise.reject(new Error("workspace path does not exist")),
      ),
    ).rejects.toThrow("workspace path does not exist");
    expect(sent).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("stops the producer when the client goes away mid-stream", async () => {
    const dir = freshScratch();
    let producerError: unknown = null;
    const started = Date.now();
    await expect(
      streamProduced(
        dir,
        "x.tar",
        () => Promise.reject(new Error("client disconnected")),
        async (fifo) => {
          // Far more than a pipe holds: it blocks unless the reader's end is gone.
          await run("dd", ["if=/dev/zero", `of=${fifo}`, "bs=1M", "count=64"]).catch(
            (error: unknown) => {
              producerError = error;
              throw error;
            },
          );
        },
      ),
    ).rejects.toThrow();
    expect(producerError).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("sweeps what a killed agent left in its scratch directory, and only that", () => {
    const dir = freshScratch();
    fs.writeFileSync(path.join(dir, "tmp-123-abc-import.tar"), "half an upload");
    fs.writeFileSync(path.join(dir, "shells.json"), "{}");
    prepareScratch(dir);
    expect(fs.readdirSync(dir)).toEqual(["shells.json"]);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });
});
