/**
 * A stand-in host agent for the adoption test: launches one VM from the spec given as JSON in
 * argv[3] under runtime directory argv[2] with accelerator argv[4], prints `{"pid":...}` and then idles while holding the
 * QMP connection, until the test kills it with SIGKILL.
 */
import { QemuHypervisor } from "../../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import type { VmSpec } from "../../../services/plasmavmc/hypervisor/hypervisor.ts";

const [runDir, specJson, accel] = process.argv.slice(2);
if (!runDir || !specJson || (accel !== "kvm" && accel !== "tcg")) throw new Error("usage: agent-child.ts RUN_DIR SPEC_JSON kvm|tcg");
const hv = new QemuHypervisor({ runDir, accelerator: accel });
const vm = await hv.launch(JSON.parse(specJson) as VmSpec);
console.log(JSON.stringify({ pid: vm.pid, accelerator: vm.accelerator }));
setInterval(() => {}, 1 << 30);
