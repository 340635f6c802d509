import { describe, expect, it } from "bun:test";
import { LinuxVpcDataplane } from "../../../dataplane/linux/index.ts";
import { OvnChassisDataplane, OvnVpcDataplane } from "../../../dataplane/ovn/index.ts";
import { loadConfig } from "../../../lib/config.ts";
import { createLogger } from "../../../lib/log.ts";
import { createAgentDataplanes } from "./agent-dataplane.ts";

const logger = createLogger("test", { level: "error" });
const novanet = (flags: Record<string, string>) => loadConfig({ env: {}, flags: Object.fromEntries(Object.entries(flags).map(([k, v]) => [`novanet.${k}`, v])) }).novanet;

describe("createAgentDataplanes", () => {
  it("builds the Linux driver by default, with the external bridge for the host plan", async () => {
    const d = createAgentDataplanes(novanet({ agent_external_bridge: "brext" }), { logger });
    expect(d.kind).toBe("linux");
    expect(d.dataplane).toBeInstanceOf(LinuxVpcDataplane);
    expect(d.northbound).toBeUndefined();
    expect(d.host).toEqual({ externalBridge: "brext" });
    await d.close();
  });

  it("takes agent_packet_cpus for the Linux driver and refuses a malformed list, naming the key", async () => {
    const d = createAgentDataplanes(novanet({ agent_packet_cpus: "0" }), { logger });
    expect(d.dataplane).toBeInstanceOf(LinuxVpcDataplane);
    await d.close();
    for (const bad of ["x", "0-", "4096"]) {
      expect(() => createAgentDataplanes(novanet({ agent_packet_cpus: bad }), { logger })).toThrow(/\[novanet\] agent_packet_cpus: /);
    }
  });

  it("builds the OVN chassis half on every agent and the northbound writer only where asked", async () => {
    const plain = createAgentDataplanes(novanet({ dataplane: "ovn", agent_external_bridge: "brext" }), { logger });
    expect(plain.kind).toBe("ovn");
    expect(plain.dataplane).toBeInstanceOf(OvnChassisDataplane);
    expect(plain.northbound).toBeUndefined();
    expect(plain.host).toEqual({ mtu: 1442 }); // no Linux external bridge: OVN routes on the gateway chassis
    const writer = createAgentDataplanes(
      novanet({ dataplane: "ovn", ovn_nb_writer: "true", ovn_nb_remote: "tcp:127.0.0.1:6641", ovn_gateway_chassis: "gw1, gw2", ovn_external_network: "physnet1", ovn_mtu: "1400" }),
      { logger },
    );
    expect(writer.northbound?.dataplane).toBeInstanceOf(OvnVpcDataplane);
    expect(writer.northbound).toMatchObject({ mtu: 1400, externalNetwork: "physnet1" });
    expect(writer.host).toEqual({ mtu: 1400 });
    await Promise.all([plain.close(), writer.close()]);
  });

  it("refuses malformed OVN settings, naming the key", () => {
    const code = (flags: Record<string, string>) => {
      try {
        createAgentDataplanes(novanet({ dataplane: "ovn", ...flags }), { logger });
        return "ok";
      } catch (e) {
        return `${(e as { code: string }).code} ${(e as Error).message.split(":")[0]}`;
      }
    };
    expect(code({ ovn_ovs_remote: "/var/run/openvswitch/db.sock" })).toBe("PHOTON:InvalidArgument [novanet] ovn_ovs_remote");
    expect(code({ ovn_nb_writer: "true", ovn_nb_remote: "ssl:1.2.3.4:6641" })).toBe("PHOTON:InvalidArgument [novanet] ovn_nb_remote");
    expect(code({ ovn_nb_remote: "ssl:1.2.3.4:6641" })).toBe("ok"); // only the writer uses it
    expect(code({ ovn_bridge: "br int" })).toBe("PHOTON:InvalidArgument [novanet] ovn_bridge");
    expect(code({ ovn_gateway_chassis: "gw1,g w2" })).toBe("PHOTON:InvalidArgument [novanet] ovn_gateway_chassis");
    expect(code({ ovn_nb_writer: "true", ovn_external_network: "physnet1" })).toBe("PHOTON:InvalidArgument [novanet] ovn_gateway_chassis");
    expect(() => novanet({ dataplane: "vpp" })).toThrow(/novanet.dataplane: expected one of linux\|ovn/);
  });
});
