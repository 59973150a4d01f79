import { z } from "zod";

import { lazy } from "../shared/lazy.js";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";
import { commandOutput, renderCommand, renderVm, vmResult } from "./results.js";

export const vmCreateInput = lazy(() =>
  z.strictObject({
    environment: fields.environment,
    vcpu_count: fields.vcpu_count,
    mem_mib: fields.mem_mib,
    ttl_seconds: fields.ttl_seconds,
    network: fields.network,
    allow_host_compat: fields.allow_host_compat,
  }),
);

const vmExecResult = lazy(() =>
  z.object({
    vm_id: z.string(),
    environment: z.string(),
    ...commandOutput(),
  }),
);

const vmDeleted = lazy(() => z.object({ vm_id: z.string(), deleted: z.boolean() }));

export const vmOperations = [
  defineOperation({
    name: "vm_list_environments",
    method: "listEnvironments",
    title: "List environments",
    effect: "read",
    description:
      "List environments, whether each is pulled (`pyro env pull NAME`), the backend and the cache directory.",
    input: () => z.strictObject({}),
    output: () =>
      z.object({
        backend: z.string(),
        cache_dir: z.string(),
        environments: z.array(
          z.object({
            name: z.string(),
            description: z.string(),
            installed: z.boolean(),
            status: z.enum(["installed", "missing", "broken", "stale"]),
          }),
        ),
      }),
    handler: async (manager) => manager.listEnvironments(),
    render: (result) =>
      result.environments
        .map(
          (environment) =>
            `${environment.name.padEnd(16)} ${environment.status.padEnd(9)} ${environment.description}`,
        )
        .join("\n"),
  }),
  defineOperation({
    name: "vm_create",
    method: "createVm",
    title: "Create VM",
    effect: "write",
    description:
      "Create a one-shot VM in state 'created' (boot it with vm_start). limit_exceeded when max active VMs run.",
    input: () => vmCreateInput(),
    output: () => vmResult(),
    handler: (manager, input) => manager.createVm(input),
    render: renderVm,
  }),
  defineOperation({
    name: "vm_start",
    method: "startVm",
    title: "Start VM",
    effect: "write",
    description: "Boot a VM in state 'created' or 'stopped'. Returns the VM record, now 'started'.",
    input: () => z.strictObject({ vm_id: fields.vm_id }),
    output: () => vmResult(),
    handler: (manager, input, context) => manager.startVm(input.vm_id, context),
    render: renderVm,
  }),
  defineOperation({
    name: "vm_exec",
    method: "execVm",
    title: "Run command in VM, then delete it",
    effect: "destructive",
    description: "Run one command in a started VM, then delete the VM. exit_code 124: timed out.",
    input: () =>
      z.strictObject({
        vm_id: fields.vm_id,
        command: fields.command,
        timeout_seconds: fields.timeout_seconds,
      }),
    output: () => vmExecResult(),
    handler: (manager, input, context) =>
      manager.execVm(input.vm_id, input, { signal: context.signal }),
    render: renderCommand,
  }),
  defineOperation({
    name: "vm_stop",
    method: "stopVm",
    title: "Stop VM",
    effect: "destructive",
    idempotent: true,
    description:
      "Stop a VM's sandbox, keeping its record (state 'stopped'; vm_start boots it again).",
    input: () => z.strictObject({ vm_id: fields.vm_id }),
    output: () => vmResult(),
    handler: (manager, input) => manager.stopVm(input.vm_id),
    render: renderVm,
  }),
  defineOperation({
    name: "vm_delete",
    method: "deleteVm",
    title: "Delete VM",
    effect: "destructive",
    idempotent: true,
    description: "Stop a VM and delete its record. Returns {vm_id, deleted: true}.",
    input: () => z.strictObject({ vm_id: fields.vm_id }),
    output: () => vmDeleted(),
    handler: (manager, input) => manager.deleteVm(input.vm_id),
    render: (result) => `deleted vm ${result.vm_id}`,
  }),
  defineOperation({
    name: "vm_status",
    method: "statusVm",
    title: "VM status",
    effect: "read",
    description:
      "Show a VM's record and state (created, started, stopped). An expired VM is deleted and reported as expired.",
    input: () => z.strictObject({ vm_id: fields.vm_id }),
    output: () => vmResult(),
    handler: (manager, input) => manager.statusVm(input.vm_id),
    render: renderVm,
  }),
  defineOperation({
    name: "vm_network_info",
    method: "networkInfoVm",
    title: "VM network info",
    effect: "read",
    description:
      "Show a VM's network configuration (guest_ip, tap_name, mac_address; null when off).",
    input: () => z.strictObject({ vm_id: fields.vm_id }),
    output: () =>
      z.object({
        vm_id: z.string(),
        network_enabled: z.boolean(),
        guest_ip: z.string().nullable(),
        tap_name: z.string().nullable(),
        mac_address: z.string().nullable(),
      }),
    handler: (manager, input) => manager.networkInfoVm(input.vm_id),
    render: (result) =>
      result.network_enabled
        ? `vm ${result.vm_id}: guest_ip ${result.guest_ip ?? "-"}, tap ${result.tap_name ?? "-"}`
        : `vm ${result.vm_id}: networking is off`,
  }),
  defineOperation({
    name: "vm_reap_expired",
    method: "reapExpired",
    title: "Delete expired sandboxes",
    effect: "destructive",
    idempotent: true,
    description:
      "Delete expired VMs and workspaces, and state directories whose record is corrupt. Returns the ids removed.",
    input: () => z.strictObject({}),
    output: () =>
      z.object({
        count: z.number().int(),
        vm_ids: z.array(z.string()),
        workspace_ids: z.array(z.string()),
      }),
    handler: (manager) => manager.reapExpired(),
    render: (result) => `reaped ${result.count} sandbox(es)`,
  }),
  defineOperation({
    name: "vm_run",
    method: "runInVm",
    title: "Run command in a throwaway VM",
    effect: "write",
    description:
      "Create a VM, run one command in it and delete it, even on failure. exit_code 124: timed out.",
    input: () =>
      vmCreateInput().extend({
        command: fields.command,
        timeout_seconds: fields.timeout_seconds,
      }),
    output: () => vmExecResult(),
    handler: (manager, input, context) => manager.runVm(input, context),
    render: renderCommand,
  }),
];
