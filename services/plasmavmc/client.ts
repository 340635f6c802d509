/**
 * `PlasmavmcClient`: how the CLI, other services and tests talk to plasmavmc's REST API. Errors
 * come back as the PhotonErrors the server threw (rebuilt from their `code`, never from messages).
 * @example
 * const pv = new PlasmavmcClient("http://127.0.0.1:7100", token);
 * const vm = await pv.createVm({ name: "web-1", flavor: "small", image: img.id, subnet: sn.id });
 * await pv.waitForVm(vm.id, (v) => v.state !== "BUILDING");
 */
import { queryString, requestJson, type RawBody } from "../../lib/api/json-client.ts";
import { GrpcStatus, PhotonError } from "../../lib/errors.ts";
import type { CreateFlavorInput } from "./service-flavor.ts";
import type { CreateImageInput } from "./service-image.ts";
import type { CreateVmInput } from "./service-vm.ts";
import type { CreateVolumeInput } from "./service-volume.ts";
import type { Flavor, HostView, Image, ItemList, Quota, Snapshot, Vm, Volume } from "./types.ts";

const q = queryString;
const e = encodeURIComponent;

/** A client of one plasmavmc endpoint with an iam access token. */
export class PlasmavmcClient {
  constructor(readonly baseUrl: string, private readonly token?: string, private readonly timeoutMs = 60_000) {}

  /** The same client sending `token`. */
  withToken(token: string): PlasmavmcClient {
    return new PlasmavmcClient(this.baseUrl, token, this.timeoutMs);
  }

  /**
   * Calls `method path` with a JSON body (or a raw stream for uploads); resolves with the JSON answer.
   * @throws the server's PhotonError, or PHOTON:Unavailable when plasmavmc cannot be reached.
   */
  request<T = unknown>(method: string, path: string, body?: unknown, raw?: RawBody): Promise<T> {
    return requestJson<T>({ service: "plasmavmc", baseUrl: this.baseUrl, ...(this.token ? { token: this.token } : {}), timeoutMs: this.timeoutMs }, method, path, body, raw);
  }

  createFlavor(i: CreateFlavorInput): Promise<Flavor> { return this.request("POST", "/v1/flavors", i); }
  listFlavors(): Promise<ItemList<Flavor>> { return this.request("GET", "/v1/flavors"); }
  getFlavor(id: string): Promise<Flavor> { return this.request("GET", `/v1/flavors/${e(id)}`); }
  deleteFlavor(id: string): Promise<object> { return this.request("DELETE", `/v1/flavors/${e(id)}`); }

  createImage(i: CreateImageInput): Promise<Image> { return this.request("POST", "/v1/images", i); }
  /** Streams the image's content (a file: `Bun.file(path)`, or any body). */
  uploadImage(id: string, content: Blob | ReadableStream<Uint8Array> | Uint8Array | string): Promise<Image> { return this.request("PUT", `/v1/images/${e(id)}/file`, undefined, content); }
  listImages(project?: string): Promise<ItemList<Image>> { return this.request("GET", `/v1/images${q({ project })}`); }
  getImage(id: string): Promise<Image> { return this.request("GET", `/v1/images/${e(id)}`); }
  deleteImage(id: string): Promise<object> { return this.request("DELETE", `/v1/images/${e(id)}`); }

  createVm(i: CreateVmInput): Promise<Vm> { return this.request("POST", "/v1/vms", i); }
  listVms(project?: string): Promise<ItemList<Vm>> { return this.request("GET", `/v1/vms${q({ project })}`); }
  getVm(id: string): Promise<Vm> { return this.request("GET", `/v1/vms/${e(id)}`); }
  deleteVm(id: string): Promise<object> { return this.request("DELETE", `/v1/vms/${e(id)}`); }
  startVm(id: string): Promise<Vm> { return this.request("POST", `/v1/vms/${e(id)}/start`, {}); }
  stopVm(id: string, deadlineMs?: number): Promise<Vm> { return this.request("POST", `/v1/vms/${e(id)}/stop`, deadlineMs === undefined ? {} : { deadlineMs }); }
  rebootVm(id: string): Promise<Vm> { return this.request("POST", `/v1/vms/${e(id)}/reboot`, {}); }
  pauseVm(id: string): Promise<Vm> { return this.request("POST", `/v1/vms/${e(id)}/pause`, {}); }
  resumeVm(id: string): Promise<Vm> { return this.request("POST", `/v1/vms/${e(id)}/resume`, {}); }
  resizeVm(id: string, flavor: string): Promise<Vm> { return this.request("POST", `/v1/vms/${e(id)}/resize`, { flavor }); }
  consoleLog(id: string): Promise<{ id: string; log: string }> { return this.request("GET", `/v1/vms/${e(id)}/console-log`); }

  createVolume(i: CreateVolumeInput): Promise<Volume> { return this.request("POST", "/v1/volumes", i); }
  listVolumes(project?: string): Promise<ItemList<Volume>> { return this.request("GET", `/v1/volumes${q({ project })}`); }
  getVolume(id: string): Promise<Volume> { return this.request("GET", `/v1/volumes/${e(id)}`); }
  deleteVolume(id: string): Promise<object> { return this.request("DELETE", `/v1/volumes/${e(id)}`); }
  attachVolume(id: string, vm: string): Promise<Volume> { return this.request("POST", `/v1/volumes/${e(id)}/attach`, { vm }); }
  detachVolume(id: string): Promise<Volume> { return this.request("POST", `/v1/volumes/${e(id)}/detach`, {}); }
  createSnapshot(volume: string, name: string): Promise<Snapshot> { return this.request("POST", `/v1/volumes/${e(volume)}/snapshots`, { name }); }
  listSnapshots(o: { project?: string; volume?: string } = {}): Promise<ItemList<Snapshot>> { return this.request("GET", `/v1/snapshots${q(o)}`); }
  getSnapshot(id: string): Promise<Snapshot> { return this.request("GET", `/v1/snapshots/${e(id)}`); }
  deleteSnapshot(id: string): Promise<object> { return this.request("DELETE", `/v1/snapshots/${e(id)}`); }

  /**
   * Polls a volume until `done(volume)` holds (resolves undefined once it is gone).
   * @throws PLASMAVMC:Unavailable after `timeoutMs`, naming the last state.
   */
  async waitForVolume(id: string, done: (v: Volume) => boolean, timeoutMs = 60_000, everyMs = 200): Promise<Volume | undefined> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      let v: Volume;
      try {
        v = await this.getVolume(id);
      } catch (err) {
        if ((err as PhotonError).code === "PLASMAVMC:NotFound") return undefined;
        throw err;
      }
      if (done(v)) return v;
      if (Date.now() > end) throw new PhotonError("PLASMAVMC:Unavailable", `volume ${id} is still ${v.state}${v.reason ? ` (${v.reason})` : ""} after ${timeoutMs} ms`, { grpc: GrpcStatus.UNAVAILABLE });
      await Bun.sleep(everyMs);
    }
  }

  listHosts(): Promise<ItemList<HostView>> { return this.request("GET", "/v1/hosts"); }
  getQuota(project?: string): Promise<Quota> { return this.request("GET", `/v1/quotas${q({ project })}`); }
  updateQuota(project: string | undefined, limits: Partial<Quota["limits"]>): Promise<Quota> { return this.request("PATCH", "/v1/quotas", { ...(project ? { project } : {}), limits }); }

  /**
   * Polls a VM until `done(vm)` holds (or it is gone: resolves undefined).
   * @throws PLASMAVMC:Unavailable after `timeoutMs`, naming the last state.
   */
  async waitForVm(id: string, done: (v: Vm) => boolean, timeoutMs = 120_000, everyMs = 200): Promise<Vm | undefined> {
    const end = Date.now() + timeoutMs;
    let last: Vm | undefined;
    for (;;) {
      try {
        last = await this.getVm(id);
      } catch (err) {
        if ((err as PhotonError).code === "PLASMAVMC:NotFound") return undefined;
        throw err;
      }
      if (done(last)) return last;
      if (Date.now() > end) throw new PhotonError("PLASMAVMC:Unavailable", `vm ${id} is still ${last.state}${last.reason ? ` (${last.reason})` : ""} after ${timeoutMs} ms`, { grpc: GrpcStatus.UNAVAILABLE });
      await Bun.sleep(everyMs);
    }
  }

  /** Polls an image until it leaves IMPORTING; calls `progress` on the way. */
  async waitForImage(id: string, timeoutMs = 600_000, progress?: (i: Image) => void): Promise<Image> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const img = await this.getImage(id);
      if (img.state !== "IMPORTING") return img;
      progress?.(img);
      if (Date.now() > end) throw new PhotonError("PLASMAVMC:Unavailable", `image ${id} is still importing after ${timeoutMs} ms (${img.bytes} bytes)`, { grpc: GrpcStatus.UNAVAILABLE });
      await Bun.sleep(250);
    }
  }
}
