import { z } from "zod";

import { defineOperation } from "./define.js";
import { fields } from "./fields.js";

export const vmCreateInput = z.strictObject({
  environment: fields.environment,
  vcpu_count: fields.vcpu_count,
  mem_mib: fields.mem_mib,
  ttl_seconds: fields.ttl_seconds,
  network: fields.network,
  allow_host_compat: fields.allow_host_compat,
});

export const vmOperations = [
  defineOperation({
    name: "vm_list_environments",
    method: "listEnvironments",
    description: "List the environments a VM or workspace can be created from.",
    input: z.strictObject({}),
    handler: async (manager) => manager.listEnvironments(),
  }),
  defineOperation({
    name: "vm_create",
    method: "createVm",
    description: "Create a one-shot VM (not started).",
    input: vmCreateInput,
    handler: (manager, input) => manager.createVm(input),
  }),
  defineOperation({
    name: "vm_start",
    method: "startVm",
    description: "Boot a created VM.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.startVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_exec",
    method: "execVm",
    description: "Run one command in a started VM, then delete the VM.",
    input: z.strictObject({
      vm_id: fields.vm_id,
      command: fields.command,
      timeout_seconds: fields.timeout_seconds,
    }),
    handler: (manager, input) => manager.execVm(input.vm_id, input),
  }),
  defineOperation({
    name: "vm_stop",
    method: "stopVm",
    description: "Stop a VM, keeping its record.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.stopVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_delete",
    method: "deleteVm",
    description: "Stop and delete a VM.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.deleteVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_status",
    method: "statusVm",
    description: "Show a VM's state.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.statusVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_network_info",
    method: "networkInfoVm",
    description: "Show a VM's network configuration.",
    input: z.strictObject({ vm_id: fields.vm_id }),
    handler: (manager, input) => manager.networkInfoVm(input.vm_id),
  }),
  defineOperation({
    name: "vm_reap_expired",
    method: "reapExpired",
    description: "Delete expired VMs and workspaces, and records that are corrupt.",
    input: z.strictObject({}),
    handler: (manager) => manager.reapExpired(),
  }),
  defineOperation({
    name: "vm_run",
    method: "runInVm",
    description: "Create a VM, run one command in it and delete it.",
    input: vmCreateInput.extend({
      command: fields.command,
      timeout_seconds: fields.timeout_seconds,
    }),
    handler: (manager, input) => manager.runVm(input),
  }),
];
