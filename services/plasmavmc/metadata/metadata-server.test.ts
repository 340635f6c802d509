/**
 * The metadata server on its unix socket behind the proxy, both real listeners on loopback: the
 * OpenStack, EC2 and NoCloud layouts, identity from the TCP peer (a spoofed X-Forwarded-For is
 * overwritten), and nothing for unknown callers or other networks.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InstanceMetadata } from "./instance-metadata.ts";
import { startMetadataProxy } from "./metadata-proxy.ts";
import { startMetadataServer, type MetadataServer } from "./metadata-server.ts";

const vm: InstanceMetadata = {
  uuid: "6f1c2a9e-0000-4000-8000-000000000001",
  name: "web-1",
  hostname: "web-1.prj.example",
  projectId: "prj_1",
  publicKeys: { laptop: "ssh-ed25519 AAAAC3Nza laptop" },
  userData: "#cloud-config\nruncmd: [echo hi]\n",
};

describe("metadata server and proxy", () => {
  const dir = mkdtempSync(join(tmpdir(), "photon-md-"));
  let server: MetadataServer;
  let proxy: ReturnType<typeof startMetadataProxy>;
  let other: ReturnType<typeof startMetadataProxy>;
  const lookups: string[] = [];

  beforeAll(() => {
    server = startMetadataServer({
      socketPath: join(dir, "md.sock"),
      lookup: (network, ip) => {
        lookups.push(`${network}/${ip}`);
        return network === "vpc-a" && ip === "127.0.0.1" ? vm : undefined;
      },
    });
    proxy = startMetadataProxy({ hostname: "127.0.0.1", port: 0, network: "vpc-a", upstream: server.socketPath });
    other = startMetadataProxy({ hostname: "127.0.0.1", port: 0, network: "vpc-b", upstream: server.socketPath });
  });
  afterAll(() => {
    proxy?.stop();
    other?.stop();
    server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, init: RequestInit = {}, via = proxy) => fetch(`http://127.0.0.1:${via.port}${path}`, init);

  it("keeps its socket private to root", () => {
    expect(statSync(server.socketPath).mode & 0o777).toBe(0o600);
  });

  it("serves the OpenStack layout", async () => {
    expect(await (await get("/openstack")).text()).toContain("latest");
    const md = (await (await get("/openstack/latest/meta_data.json")).json()) as Record<string, unknown>;
    expect(md).toMatchObject({ uuid: vm.uuid, name: "web-1", hostname: "web-1.prj.example", project_id: "prj_1", public_keys: vm.publicKeys });
    expect(await (await get("/openstack/latest/user_data")).text()).toBe(vm.userData!);
    expect(await (await get("/openstack/2018-08-27/network_data.json")).json()).toEqual({ links: [], networks: [], services: [] });
    expect((await get("/openstack/2001-01-01/meta_data.json")).status).toBe(404);
  });

  it("serves the EC2 layout", async () => {
    expect(await (await get("/latest/meta-data/instance-id")).text()).toBe(vm.uuid);
    expect(await (await get("/latest/meta-data/local-hostname")).text()).toBe("web-1");
    expect(await (await get("/latest/meta-data/public-keys")).text()).toBe("0=laptop");
    expect(await (await get("/latest/meta-data/public-keys/0/openssh-key")).text()).toBe(vm.publicKeys.laptop!);
    expect(await (await get("/latest/user-data")).text()).toBe(vm.userData!);
    expect((await get("/latest/meta-data/public-keys/1/openssh-key")).status).toBe(404);
  });

  it("serves the NoCloud layout", async () => {
    const md = await (await get("/nocloud/meta-data")).text();
    expect(md).toContain(`instance-id: "${vm.uuid}"`);
    expect(md).toContain('local-hostname: "web-1"');
    expect(md).toContain(`  - "${vm.publicKeys.laptop}"`);
    expect(await (await get("/nocloud/user-data")).text()).toBe(vm.userData!);
  });

  it("identifies the caller by its TCP address, not by headers it sends", async () => {
    lookups.length = 0;
    const r = await get("/latest/meta-data/instance-id", { headers: { "x-forwarded-for": "10.0.0.99", "x-photon-network": "vpc-x" } });
    expect(await r.text()).toBe(vm.uuid);
    expect(lookups).toEqual(["vpc-a/127.0.0.1"]);
  });

  it("gives nothing to a caller it does not know, nor across networks", async () => {
    const r = await get("/openstack/latest/meta_data.json", {}, other);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain(vm.uuid);
  });

  it("refuses writes and unknown paths", async () => {
    expect((await get("/openstack/latest/meta_data.json", { method: "POST", body: "x" })).status).toBe(405);
    expect((await get("/../../etc/passwd")).status).toBe(404);
    expect((await get("/nope")).status).toBe(404);
    expect((await get("/openstack/%zz")).status).toBe(400);
  });

  it("answers 503 when the server is gone, and the proxy keeps running", async () => {
    const lone = startMetadataProxy({ hostname: "127.0.0.1", port: 0, network: "vpc-a", upstream: join(dir, "absent.sock") });
    try {
      expect((await get("/latest/meta-data/instance-id", {}, lone)).status).toBe(503);
    } finally {
      lone.stop();
    }
  });
});
