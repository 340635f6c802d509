/**
 * plasmavmc's error catalogue (namespace `PLASMAVMC:`). Messages name the VM, the file or the QMP
 * command involved, and carry the hypervisor's own reason (QEMU's stderr, the QMP error class) in
 * `details` so an operator sees why without reading host logs.
 */
import { defineErrors, GrpcStatus } from "../../lib/errors.ts";

/** Every plasmavmc error by name: `PlasmavmcErrors.NotRunning("vm web-1 is not running")`. */
export const PlasmavmcErrors = defineErrors("PLASMAVMC", {
  InvalidSpec: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the field the message names" },
  InvalidImage: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "the kernel, initrd or disk is missing, truncated or not a bootable format; re-import the image" },
  NotFound: { grpc: GrpcStatus.NOT_FOUND, hint: "check the id or name; it may have been deleted or belong to another project" },
  InvalidArgument: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the field the message names" },
  InvalidState: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the resource is not in a state that allows this (the message says which it is in); wait or change it first" },
  HotplugUnsupported: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the VM runs on microvm, which has no PCI hotplug: stop it, attach or detach, start it again (or create it with machine q35)" },
  InUse: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "delete what still uses it first (the message names it)" },
  QuotaExceeded: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, hint: "delete VMs or volumes, or ask an administrator to raise the project's quota" },
  Conflict: { grpc: GrpcStatus.ABORTED, hint: "concurrent changes kept conflicting; retry" },
  Unavailable: { grpc: GrpcStatus.UNAVAILABLE, hint: "the host agent or a service plasmavmc needs did not answer in time; retry" },
  ImportForbidden: { grpc: GrpcStatus.PERMISSION_DENIED, hint: "the image URL (or a redirect) leads to a loopback, link-local, private or PhotonCloud address; import from a public address, or ask the operator to allow it ([plasmavmc] image_import_allow)" },
  AlreadyRunning: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the VM is already running; stop it first or adopt it" },
  NotRunning: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the VM's process is gone; start it again" },
  LaunchFailed: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the hypervisor refused to start; details.reason holds its own message" },
  HypervisorUnavailable: { grpc: GrpcStatus.UNAVAILABLE, hint: "install the hypervisor binary on this host, or choose another backend" },
  AcceleratorUnavailable: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "this host cannot boot guests with the requested accelerator; use 'auto' or 'tcg'" },
  QmpConnectFailed: { grpc: GrpcStatus.UNAVAILABLE, hint: "the VM's QMP socket is not there or refuses connections; the VM may have exited" },
  QmpProtocol: { grpc: GrpcStatus.INTERNAL, hint: "the monitor sent something that is not QMP; check the socket path" },
  QmpTimeout: { grpc: GrpcStatus.DEADLINE_EXCEEDED, hint: "QEMU did not answer in time (hung, stopped, or another client holds the monitor)" },
  QmpCommandFailed: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "QEMU rejected the command; details.class and the message say why" },
  QmpDisconnected: { grpc: GrpcStatus.UNAVAILABLE, hint: "the monitor connection closed (QEMU exited or was killed); check the VM's status" },
  BootTimeout: { grpc: GrpcStatus.DEADLINE_EXCEEDED, hint: "the guest did not print what was awaited; read its console log (details.lastLine)" },
  StopTimeout: { grpc: GrpcStatus.DEADLINE_EXCEEDED, hint: "the VM's process did not exit even after a forced kill; check the host" },
});
