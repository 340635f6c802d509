/**
 * plasmavmc boot benchmark: the QEMU backend launching the tiny test image, timed from the call to
 * `QemuHypervisor.launch` to
 *   - `vmm`:   launch resolved (QEMU built the machine, QMP answers),
 *   - `init`:  the guest's init printed `PHOTON-TEST-IMAGE BOOT` (kernel booted, user space started),
 *   - `ready`: `PHOTON-TEST-IMAGE READY` (modules loaded, services up; DHCP too with --nic),
 * and the QEMU process's resident memory once ready. Each VM is deleted before the next.
 *
 *   npx bun bench/plasmavmc/boot.ts [--runs 10] [--concurrent N] [--nic] [--accel auto|kvm|tcg] [--memory 256]
 *
 * `--concurrent N` launches N VMs at once and reports when the last one is ready (one round).
 * Firecracker's "user space in as little as 125 ms" (firecracker-microvm.github.io) is a PUBLISHED
 * figure measured on bare-metal KVM; it is printed as an anchor, not as a same-run peer — no
 * Firecracker binary exists on these machines and KVM cannot boot guests here.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { readConsole } from "../../services/plasmavmc/hypervisor/console-log.ts";
import type { AcceleratorChoice, VmSpec } from "../../services/plasmavmc/hypervisor/hypervisor.ts";
import { QemuHypervisor } from "../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import { ensureTestImage } from "../../services/plasmavmc/hypervisor/test-image.ts";

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runs: { type: "string", default: "10" },
    concurrent: { type: "string" },
    nic: { type: "boolean", default: false },
    accel: { type: "string", default: "auto" },
    memory: { type: "string", default: "256" },
  },
  strict: true,
});

const FIRECRACKER_PUBLISHED_MS = 125;
const image = await ensureTestImage();
const runDir = mkdtempSync("/tmp/pvb-");
const hv = new QemuHypervisor({
  runDir,
  accelerator: flags.accel as AcceleratorChoice,
  probeImage: { kernel: image.kernel, initrd: image.initrd, marker: image.probeMarker },
});
const info = await hv.info();
if (!info.available) {
  console.error(`skipping: ${info.reason}`);
  process.exit(0);
}

const spec = (id: string): VmSpec => ({
  id,
  vcpus: 1,
  memoryMiB: Number(flags.memory),
  boot: { kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline },
  disks: [],
  nics: flags.nic ? [{ type: "user" }] : [],
});

interface Sample {
  vmm: number;
  init: number;
  ready: number;
  rssMiB: number;
}

/** Polls the console log every 2 ms for the markers; returns ms since t0 for each. */
async function watchMarkers(log: string, t0: number): Promise<{ init: number; ready: number }> {
  let init = 0;
  for (;;) {
    const text = readConsole(log);
    const now = performance.now() - t0;
    if (!init && text.includes("PHOTON-TEST-IMAGE BOOT")) init = now;
    if (text.includes(image.marker)) return { init: init || now, ready: now };
    if (now > 120_000) throw new Error(`no READY marker after 120 s; console: ${text.slice(-300)}`);
    await Bun.sleep(2);
  }
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function bootOnce(id: string): Promise<Sample> {
  const t0 = performance.now();
  const vm = await hv.launch(spec(id));
  try {
    const vmm = performance.now() - t0;
    const { init, ready } = await watchMarkers(vm.consoleLogPath, t0);
    return { vmm, init, ready, rssMiB: rssMiB(vm.pid) };
  } finally {
    await vm.delete(); // also when the guest never got ready: no QEMU outlives the bench
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
};
const f = (ms: number) => `${ms.toFixed(0)} ms`;

console.log(`qemu ${info.version}, accelerator ${info.accelerator} (${info.reason})`);
console.log(`image ${image.kernelPackage}, ${flags.memory} MiB, 1 vCPU, microvm${flags.nic ? ", user-mode NIC with DHCP" : ", no NIC"}`);

try {
  if (flags.concurrent) {
    const n = Number(flags.concurrent);
    const t0 = performance.now();
    const samples = await Promise.all(Array.from({ length: n }, (_, i) => bootOnce(`bench-c${i}`)));
    const wall = performance.now() - t0;
    console.log(`\n${n} VMs launched concurrently: last READY after ${f(wall)}`);
    console.log(`per VM ready p50 ${f(pct(samples.map((s) => s.ready), 0.5))}, max ${f(Math.max(...samples.map((s) => s.ready)))}`);
  } else {
    const runs = Number(flags.runs);
    await bootOnce("bench-warmup"); // page cache, QEMU's first start
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await bootOnce(`bench-${i}`));
    const row = (name: string, xs: number[]) => console.log(`${name.padEnd(28)} p50 ${f(pct(xs, 0.5)).padStart(8)}   p99 ${f(pct(xs, 0.99)).padStart(8)}`);
    console.log(`\n${runs} sequential boots (after one warm-up):`);
    row("launch -> VMM ready (QMP)", samples.map((s) => s.vmm));
    row("launch -> guest user space", samples.map((s) => s.init));
    row("launch -> READY marker", samples.map((s) => s.ready));
    console.log(`QEMU RSS once ready: p50 ${pct(samples.map((s) => s.rssMiB), 0.5).toFixed(0)} MiB (guest memory ${flags.memory} MiB)`);
    const initP50 = pct(samples.map((s) => s.init), 0.5);
    console.log(
      `\nanchor (PUBLISHED, not measured here): Firecracker starts user space in ~${FIRECRACKER_PUBLISHED_MS} ms on bare-metal KVM;` +
        ` this run's launch -> user space p50 is ${(initP50 / FIRECRACKER_PUBLISHED_MS).toFixed(1)}x that under ${info.accelerator}.`,
    );
  }
} finally {
  rmSync(runDir, { recursive: true, force: true });
}
