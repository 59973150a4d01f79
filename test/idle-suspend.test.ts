/**
 * The pure parts of idle suspension (src/backends/qemu/idle-suspend.ts): which volume layer
 * qemu writes, from query-block's `file` as qemu 7.2 reported it after a seal, and the
 * arguments a resume starts qemu with. The guest-side behaviour is test/idle-suspend-qemu.
 */
import { describe, expect, it } from "vitest";

import { resumeArgs } from "../src/backends/qemu/idle-suspend.js";
import { topLayerFile } from "../src/backends/qemu/qmp.js";

const SEALED =
  'json:{"backing": {"backing": {"driver": "qcow2", "file": {"driver": "file", "filename": "/w/volume/base.qcow2"}}, "driver": "qcow2", "file": {"driver": "file", "filename": "/w/volume/mid.qcow2"}}, "driver": "qcow2", "file": {"driver": "file", "filename": "/w/volume/top.qcow2"}}';

const SUSPEND = {
  after_ms: 1000,
  qmp_socket: "/w/runtime/volume-qmp.sock",
  state_file: "/w/runtime/suspended.state",
  marker_file: "/w/runtime/suspended.json",
  volume_drive: "workspace",
};

describe("idle suspension", () => {
  it("takes the top layer's own file from qemu's json: description of a sealed chain", () => {
    expect(topLayerFile(SEALED)).toBe("/w/volume/top.qcow2");
    expect(topLayerFile("/w/volume/boot.qcow2")).toBe("/w/volume/boot.qcow2");
    expect(topLayerFile("json:{not json")).toBe("json:{not json");
  });

  it("resumes on the recorded layer, waiting for the state, without a second -incoming", () => {
    const args = [
      "-m",
      "1024M",
      "-drive",
      "id=root,file=/w/runtime/disk.qcow2,format=qcow2,if=none",
      "-drive",
      "id=workspace,file=/w/volume/boot.qcow2,format=qcow2,if=none,cache=writeback",
      "-incoming",
      "defer",
    ];
    const marker = {
      state_file: SUSPEND.state_file,
      volume_file: "/w/vol,ume/top.qcow2",
      state_bytes: 1,
      suspended_at: 0,
    };
    expect(resumeArgs(args, SUSPEND, marker)).toEqual([
      "-m",
      "1024M",
      "-drive",
      "id=root,file=/w/runtime/disk.qcow2,format=qcow2,if=none",
      "-drive",
      "id=workspace,file=/w/vol,,ume/top.qcow2,format=qcow2,if=none,cache=writeback",
      "-incoming",
      "defer",
    ]);
    expect(resumeArgs(args.slice(0, 6), SUSPEND, { ...marker, volume_file: null })).toEqual([
      ...args.slice(0, 6),
      "-incoming",
      "defer",
    ]);
  });
});
