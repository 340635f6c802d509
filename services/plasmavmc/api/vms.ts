/** VM operations. */
import { consoleLog, pauseVm, rebootVm, resizeVm, resumeVm, startVm, stopVm } from "../service-vm-actions.ts";
import { createVm, deleteVm, getVm, listVms, type CreateVmInput } from "../service-vm.ts";
import { op, type PlasmavmcOperation } from "./operation.ts";

const id = { id: "string" } as const;
const action = (name: string, path: string, summary: string, run: (typeof startVm)) =>
  op<{ id: string }>({ name, method: "POST", path: `/v1/vms/:id/${path}`, auth: true, response: "Vm", summary, fields: id, required: ["id"], run: (s, c, i) => run(s, c, i) });

export const vmOperations: PlasmavmcOperation[] = [
  op<CreateVmInput>({
    name: "CreateVm", method: "POST", path: "/v1/vms", auth: true, response: "Vm", summary: "Create a VM (answers BUILDING; ERROR with the reason when no host has room)",
    fields: { project: "string", name: "string", flavor: "string", image: "string", subnet: "string", ports: "strings", userData: "string", sshKeys: "strings", stopDeadlineMs: "integer", machine: "string" }, required: ["name", "flavor", "image"],
    run: (s, c, i) => createVm(s, c, i),
  }),
  op<{ project?: string }>({ name: "ListVms", method: "GET", path: "/v1/vms", auth: true, response: "VmList", summary: "The project's VMs with state, host, addresses and reasons", fields: { project: "string" }, run: (s, c, i) => listVms(s, c, i) }),
  op<{ id: string }>({ name: "GetVm", method: "GET", path: "/v1/vms/:id", auth: true, response: "Vm", summary: "One VM", fields: id, required: ["id"], run: (s, c, i) => getVm(s, c, i) }),
  op<{ id: string }>({ name: "DeleteVm", method: "DELETE", path: "/v1/vms/:id", auth: true, response: "Empty", summary: "Delete a VM (after its host removed it; its ports, room and quota are released)", fields: id, required: ["id"], run: (s, c, i) => deleteVm(s, c, i) }),
  action("StartVm", "start", "Start a stopped VM", startVm),
  op<{ id: string; deadlineMs?: number }>({ name: "StopVm", method: "POST", path: "/v1/vms/:id/stop", auth: true, response: "Vm", summary: "Stop a VM: ACPI power button, then forced after the deadline", fields: { id: "string", deadlineMs: "integer" }, required: ["id"], run: (s, c, i) => stopVm(s, c, i) }),
  action("RebootVm", "reboot", "Reset a running VM", rebootVm),
  action("PauseVm", "pause", "Freeze a running VM", pauseVm),
  action("ResumeVm", "resume", "Unfreeze a paused VM", resumeVm),
  op<{ id: string; flavor: string }>({ name: "ResizeVm", method: "POST", path: "/v1/vms/:id/resize", auth: true, response: "Vm", summary: "Give a stopped VM another flavor", fields: { id: "string", flavor: "string" }, required: ["id", "flavor"], run: (s, c, i) => resizeVm(s, c, i) }),
  op<{ id: string }>({ name: "GetConsoleLog", method: "GET", path: "/v1/vms/:id/console-log", auth: true, response: "ConsoleLog", summary: "The tail of the VM's serial console", fields: id, required: ["id"], run: (s, c, i) => consoleLog(s, c, i) }),
];
