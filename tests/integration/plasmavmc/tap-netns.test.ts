/**
 * A VM on a tap inside a network namespace — the way novanet's ports will reach QEMU — on q35
 * (virtio-pci). The namespace stands in for a tenant network: dnsmasq answers DHCP on the tap, and
 * plasmavmc's metadata proxy on 169.254.169.254 forwards to its metadata server (OpenStack layout,
 * a user-data script). The test
 * image must take the lease, read its hostname and run the user-data, then answer a ping and a TCP
 * probe from the namespace; its raw disk shows up as virtio-blk-pci. Deleting the VM leaves the tap free (QEMU closed it) and no process.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PhotonError } from "../../../lib/errors.ts";
import { waitForConsole } from "../../../services/plasmavmc/hypervisor/console-log.ts";
import type { VmInstance } from "../../../services/plasmavmc/hypervisor/hypervisor.ts";
import { isAlive } from "../../../services/plasmavmc/hypervisor/process.ts";
import { QemuHypervisor } from "../../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import { ensureTestImage, type TestImage } from "../../../services/plasmavmc/hypervisor/test-image.ts";
import { startMetadataServer, type MetadataServer } from "../../../services/plasmavmc/metadata/metadata-server.ts";
import { photonCommand } from "../../../lib/self-command.ts";

const missing = ["qemu-system-x86_64", "ip", "dnsmasq", "busybox", "ping", "timeout"].filter((b) => !Bun.which(b));
const root = process.getuid?.() === 0;
const skip = missing.length > 0 || !root;
if (skip) console.log(`skipping plasmavmc tap/netns tests: ${!root ? "needs root" : `missing ${missing.join(", ")}`}`);

const ns = `pvmt-${process.pid}`;
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
};
const inNs = (...cmd: string[]) => ["ip", "netns", "exec", ns, ...cmd];

describe.skipIf(skip)("QemuHypervisor: tap in a network namespace, DHCP and metadata", () => {
  let image: TestImage;
  let dir: string;
  let hv: QemuHypervisor;
  let vm: VmInstance | undefined;
  let metadata: MetadataServer | undefined;
  const helpers: ReturnType<typeof Bun.spawn>[] = [];

  beforeAll(async () => {
    image = await ensureTestImage();
    dir = mkdtempSync("/tmp/pvt-");
    hv = new QemuHypervisor({ runDir: join(dir, "run"), accelerator: "tcg" });
    sh(["ip", "netns", "add", ns]);
    sh(inNs("ip", "link", "set", "lo", "up"));
    sh(inNs("ip", "tuntap", "add", "dev", "tap0", "mode", "tap"));
    sh(inNs("ip", "addr", "add", "10.99.0.1/24", "dev", "tap0"));
    sh(inNs("ip", "addr", "add", "169.254.169.254/32", "dev", "tap0"));
    sh(inNs("ip", "link", "set", "tap0", "up"));
    writeFileSync(join(dir, "data.raw"), Buffer.alloc(0));
    Bun.spawnSync(["truncate", "-s", "8M", join(dir, "data.raw")]);
    metadata = startMetadataServer({
      socketPath: join(dir, "md.sock"),
      lookup: (network, ip) =>
        network === "vpc-t" && ip === "10.99.0.15"
          ? {
              uuid: "0b8c7e2a-0000-4000-8000-000000000015",
              name: "tenant-vm",
              hostname: "tenant-vm.example",
              publicKeys: {},
              userData: "#!/bin/sh\necho user-data-ran > /var/www/probe.txt\ncat /sys/block/vda/size > /var/www/vda-size.txt\n",
            }
          : undefined,
    });
    const proxy = Bun.spawn(
      inNs(...photonCommand(), "plasmavmc-metadata-proxy", "--listen", "169.254.169.254:80", "--network", "vpc-t", "--upstream", metadata.socketPath),
      { stdout: "pipe", stderr: "inherit" },
    );
    helpers.push(
      Bun.spawn(inNs("dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--interface=tap0", "--bind-interfaces", "--no-ping",
        "--dhcp-range=10.99.0.10,10.99.0.20,255.255.255.0", "--dhcp-host=52:54:00:99:00:01,10.99.0.15", "--dhcp-option=option:router,10.99.0.1",
        `--dhcp-leasefile=${join(dir, "leases")}`), { stdout: "ignore", stderr: "ignore" }),
      proxy,
    );
    const { value } = await proxy.stdout.getReader().read();
    expect(new TextDecoder().decode(value)).toContain("listening 169.254.169.254:80");
  }, 120_000);

  afterAll(async () => {
    if (vm) await vm.delete().catch(() => {});
    for (const p of helpers) {
      p.kill(9);
      await p.exited;
    }
    metadata?.stop();
    Bun.spawnSync(["ip", "netns", "del", ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a namespace that does not exist", async () => {
    try {
      await hv.launch({ id: "t-0", vcpus: 1, memoryMiB: 256, boot: { kernel: image.kernel }, disks: [], nics: [], netns: `${ns}-absent` });
      throw new Error("expected a rejection");
    } catch (e) {
      expect((e as PhotonError).code).toBe("PLASMAVMC:InvalidSpec");
      expect((e as PhotonError).message).toContain("does not exist");
    }
  });

  it("boots on q35 with the tap, takes a DHCP lease, reads metadata and runs user-data", async () => {
    vm = await hv.launch({
      id: "t-1",
      vcpus: 1,
      memoryMiB: 256,
      machine: "q35",
      boot: { kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline },
      nics: [{ type: "tap", ifname: "tap0", mac: "52:54:00:99:00:01" }],
      disks: [{ path: join(dir, "data.raw"), format: "raw" }],
      netns: ns,
    });
    expect(vm.machine).toBe("q35");
    const ready = await waitForConsole(vm.consoleLogPath, image.marker, 60_000);
    expect(ready).toContain("ip=10.99.0.15 hostname=tenant-vm metadata=openstack");
    expect(await waitForConsole(vm.consoleLogPath, "USER-DATA exit=", 1000)).toContain("exit=0");
    // the raw disk is a virtio-blk-pci device: 8 MiB = 16384 sectors (the user-data could read it too)
    expect(sh(inNs("timeout", "5", "busybox", "wget", "-q", "-O", "-", `http://${/ip=(\S+)/.exec(ready)![1]}/vda-size.txt`)).trim()).toBe("16384");
  }, 90_000);

  it("answers a ping and a TCP probe from the namespace", async () => {
    const ip = /ip=(\S+)/.exec(await waitForConsole(vm!.consoleLogPath, image.marker, 1000))![1]!;
    sh(inNs("ping", "-c", "1", "-W", "5", ip));
    expect(sh(inNs("timeout", "5", "busybox", "wget", "-q", "-O", "-", `http://${ip}/`)).trim()).toBe("tenant-vm");
    expect(sh(inNs("timeout", "5", "busybox", "wget", "-q", "-O", "-", `http://${ip}/probe.txt`)).trim()).toBe("user-data-ran");
  }, 30_000);

  it("deletes the VM: no process, no files, and the tap is free again", async () => {
    const pid = vm!.pid;
    await vm!.delete();
    vm = undefined;
    expect(isAlive(pid)).toBe(false);
    // a tap opened by a live QEMU cannot be opened again; after delete the tap is reusable
    const flags = sh(inNs("cat", "/sys/class/net/tap0/tun_flags"));
    expect(flags.trim().length).toBeGreaterThan(0);
    expect(sh(inNs("ip", "-o", "link", "show", "tap0"))).toContain("NO-CARRIER");
    expect(Bun.spawnSync(["ls", join(dir, "run")]).stdout.toString().trim()).toBe("");
  }, 30_000);
});
