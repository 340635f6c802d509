import { generateCerts } from "./lib/certs.ts";
const t = performance.now();
const r = await generateCerts({ dir: "/tmp/certs-smoke", ips: ["::ffff:10.0.0.1", "10.1.2.3"], hosts: ["node1.lan"] });
console.log(JSON.stringify(r.ca), r.services.map(s => s.service + ":" + s.status).join(" "), performance.now() - t);
const r2 = await generateCerts({ dir: "/tmp/certs-smoke", ips: ["::ffff:10.0.0.1", "10.1.2.3"], hosts: ["node1.lan", "extra.lan"], services: ["iam","newsvc"] });
console.log(JSON.stringify(r2, null, 1));
