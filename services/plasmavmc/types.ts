/**
 * The shapes plasmavmc's API exchanges, shared by the server (`api/`), the client (`client.ts`),
 * the host agent and the CLI. REST bodies and gRPC messages (proto/plasmavmc/v1/plasmavmc.proto)
 * have the same lowerCamelCase fields.
 */

/** A flavor: the size of a VM. Public, managed by administrators. */
export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  memoryMiB: number;
  /** Size of the VM's root disk (an overlay of a disk image), GiB; 0 for kernel-booted images. */
  diskGiB: number;
  createdAt: string;
}

/** What an image holds: a bootable disk, or a kernel (optionally with an initrd image) booted directly. */
export type ImageKind = "disk" | "kernel" | "initrd";
/** An image's lifecycle: IMPORTING (upload or download running) → ACTIVE | ERROR. */
export type ImageState = "IMPORTING" | "ACTIVE" | "ERROR";

/** An image in the local image store of a project. */
export interface Image {
  id: string;
  org: string;
  project: string;
  name: string;
  kind: ImageKind;
  state: ImageState;
  /** `raw` or `qcow2` as `qemu-img info` detected it (disks); `raw` for kernels and initrds. */
  format?: "raw" | "qcow2";
  /** Bytes received so far (progress) and the total when known. */
  bytes: number;
  totalBytes?: number;
  /** Hex SHA-256 of the stored file (computed; verified against the one given at create). */
  sha256?: string;
  /** Kernel images: the initrd image and the command line to boot with. */
  initrd?: string;
  cmdline?: string;
  /** Where an import reads from. */
  sourceUrl?: string;
  /** Why it is in ERROR. */
  error?: string;
  createdAt: string;
}

/** A VM's lifecycle state as the API shows it. */
export type VmStateName = "BUILDING" | "RUNNING" | "STOPPED" | "PAUSED" | "ERROR" | "LOST" | "DELETING";
/** What the owner asked for. */
export type DesiredState = "running" | "stopped" | "paused";

/** A VM's network interface: a novanet port. */
export interface VmNic {
  port: string;
  mac: string;
  ips: string[];
  vpc: string;
  /** The VPC's VNI (names novanet's per-VPC namespaces on the host, where metadata is served). */
  vni: number;
  subnet: string;
  /** True when plasmavmc created the port (it deletes it with the VM). */
  owned: boolean;
}

/** The image a VM boots, resolved at create (the agent needs no image API). */
export interface VmBoot {
  image: string;
  kind: "disk" | "kernel";
  /** Image store file names (under the image directory). */
  file: string;
  format: "raw" | "qcow2";
  initrdFile?: string;
  cmdline?: string;
}

/** A VM as stored (desired state, placement) — the agent's input. */
export interface VmRecord {
  id: string;
  org: string;
  project: string;
  name: string;
  flavor: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  boot: VmBoot;
  /** Subnet to create a port on, when no ports were given. */
  subnet?: string;
  /** The caller's own ports it was created with (unbound, never deleted, on delete). */
  givenPorts?: string[];
  nics: VmNic[];
  userData?: string;
  sshKeys: string[];
  desired: DesiredState;
  /** Grace given to the guest on stop before it is forced off (ms). */
  stopDeadlineMs: number;
  /** Incremented by each reboot request; the agent reboots when it is above what it applied. */
  rebootSeq: number;
  host?: string;
  /** True while the VM holds its vCPUs and memory on `host` (released on ERROR and delete). */
  allocated?: boolean;
  /** True once its ports are bound to `host`: the agent launches only then. */
  netReady?: boolean;
  /** Set when the VM failed for good (placement, image); the agent leaves it alone. */
  error?: string;
  deleting?: boolean;
  /** The machine the VM runs on (`microvm` has no PCI hotplug: volumes attach to it only while stopped). */
  machine?: "microvm" | "q35";
  /** Attached volumes in attach order (each volume's `vm` names this VM; both change in one transaction). */
  volumes?: string[];
  createdAt: string;
}

/** What the host agent reports for a VM (`/photon/plasmavmc/status/<id>`). */
export interface VmStatusRecord {
  host: string;
  state: "running" | "paused" | "stopped" | "crashed" | "launching" | "failed" | "removed";
  reason?: string;
  pid?: number;
  accelerator?: string;
  machine?: string;
  rebootSeq: number;
  updatedAt: string;
}

/** A VM as the API shows it. */
export interface Vm {
  id: string;
  org: string;
  project: string;
  name: string;
  flavor: string;
  image: string;
  vcpus: number;
  memoryMiB: number;
  state: VmStateName;
  desired: DesiredState;
  host?: string;
  addresses: string[];
  ports: string[];
  /** Why it is in ERROR (or LOST, or not converging). */
  reason?: string;
  accelerator?: string;
  /** The interactive serial console (WebSocket; send the access token as a Bearer header), while its host is alive. */
  consoleUrl?: string;
  /** The machine asked for at create (`microvm`, `q35`), when one was. */
  machine?: string;
  /** Volumes attached (or attaching), in attach order. */
  volumes?: string[];
  createdAt: string;
}

/** A volume's lifecycle as the API shows it (Cinder's names). */
export type VolumeStateName = "CREATING" | "AVAILABLE" | "ATTACHING" | "IN-USE" | "DETACHING" | "ERROR";

/** A volume as stored (`volumes/<id>`): what the owner asked for; the host agent makes the files. */
export interface VolumeRecord {
  id: string;
  org: string;
  project: string;
  name: string;
  sizeGiB: number;
  /** The host whose agent holds its qcow2 files (local storage: a VM on another host cannot use it). */
  host: string;
  /** Filled from an image or a snapshot at creation (the agent copies it, flattened). */
  source?: { image?: string; imageFile?: string; imageFormat?: "raw" | "qcow2"; snapshot?: string };
  /** The VM it is attached to (desired); the agent hot-plugs or puts it on the command line. */
  vm?: string;
  /** When it was attached (orders a VM's volumes). */
  attachedAt?: string;
  /** Its snapshots, oldest first (changed in the snapshot's transactions, so a delete sees them). */
  snapshots?: string[];
  createdAt: string;
}

/** A snapshot as stored (`snapshots/<id>`): a read-only qcow2 backing file of its volume's chain. */
export interface SnapshotRecord {
  id: string;
  org: string;
  project: string;
  name: string;
  volume: string;
  host: string;
  sizeGiB: number;
  createdAt: string;
}

/** What a host agent reports for a volume (`volstatus/<id>`, written by the agent only). */
export interface VolumeStatusRecord {
  host: string;
  /** `ready`: its files exist; `error`: they could not be made (reason). */
  state: "ready" | "error";
  /** The VM it is really attached to now (hot-plugged in the running QEMU, or on the command line of a stopped VM). */
  attachedTo?: string;
  /** Snapshots whose files exist. */
  snapshots: string[];
  reason?: string;
  updatedAt: string;
}

/** A volume as the API shows it. */
export interface Volume {
  id: string;
  org: string;
  project: string;
  name: string;
  sizeGiB: number;
  state: VolumeStateName;
  host: string;
  /** The VM it is attached to (or attaching to). */
  vm?: string;
  sourceImage?: string;
  sourceSnapshot?: string;
  reason?: string;
  createdAt: string;
}

/** A snapshot as the API shows it: CREATING until its file exists on the host, then AVAILABLE. */
export interface Snapshot {
  id: string;
  org: string;
  project: string;
  name: string;
  volume: string;
  sizeGiB: number;
  state: "CREATING" | "AVAILABLE" | "ERROR";
  reason?: string;
  createdAt: string;
}

/** A hypervisor host as its agent registers it. */
export interface Host {
  name: string;
  vcpus: number;
  memoryMiB: number;
  underlayIp: string;
  /** Base URL of the agent's WebSocket console endpoint (`ws://host:port`), when it serves one. */
  consoleUrl?: string;
  startedAt: string;
}

/** A host as the API shows it (admins). */
export interface HostView extends Host {
  alive: boolean;
  usedVcpus: number;
  usedMemoryMiB: number;
}

/** Per-host allocation (`/photon/plasmavmc/alloc/<host>`), changed in placement transactions. */
export interface HostAlloc {
  vcpus: number;
  memoryMiB: number;
}

/** The kinds a project's quota limits (`volumes` counts volumes, `gigabytes` their sizes). */
export const QUOTA_KINDS = ["vms", "vcpus", "memoryMiB", "volumes", "gigabytes"] as const;
/** A quota kind. */
export type QuotaKind = (typeof QUOTA_KINDS)[number];

/** A project's limits and usage. */
export interface Quota {
  project: string;
  limits: Record<QuotaKind, number>;
  usage: Record<QuotaKind, number>;
}

/** A list answer. */
export interface ItemList<T> {
  items: T[];
}
