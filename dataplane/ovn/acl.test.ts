import { describe, expect, it } from "bun:test";
import { dropAcls, ruleAcl } from "./acl.ts";

describe("security-group rules as OVN ACLs", () => {
  it("maps direction to to-lport/outport (ingress) and from-lport/inport (egress), stateful", () => {
    expect(ruleAcl("pg", { direction: "ingress" })).toEqual({ direction: "to-lport", priority: 1002, match: "outport == @pg && ip4", action: "allow-related" });
    expect(ruleAcl("pg", { direction: "egress", ethertype: "ipv6" })).toEqual({ direction: "from-lport", priority: 1002, match: "inport == @pg && ip6", action: "allow-related" });
  });

  it("renders port ranges, ICMP type/code and protocol numbers", () => {
    expect(ruleAcl("pg", { direction: "ingress", protocol: "udp", portMin: 1000, portMax: 2000 })!.match).toBe("outport == @pg && ip4 && udp && udp.dst >= 1000 && udp.dst <= 2000");
    expect(ruleAcl("pg", { direction: "ingress", protocol: "tcp", portMin: 22, portMax: 22 })!.match).toBe("outport == @pg && ip4 && tcp && tcp.dst == 22");
    expect(ruleAcl("pg", { direction: "ingress", protocol: "icmp", icmpType: 3, icmpCode: 4 })!.match).toBe("outport == @pg && ip4 && icmp4 && icmp4.type == 3 && icmp4.code == 4");
    expect(ruleAcl("pg", { direction: "egress", ethertype: "ipv6", protocol: "icmpv6" })!.match).toBe("inport == @pg && ip6 && icmp6");
    expect(ruleAcl("pg", { direction: "egress", protocol: 47 })!.match).toBe("inport == @pg && ip4 && ip.proto == 47");
    expect(ruleAcl("pg", { direction: "egress", ethertype: "ipv6", protocol: 47 })!.match).toBe("inport == @pg && ip6 && ip6.nxt == 47");
  });

  it("matches the remote as the source of ingress and the destination of egress", () => {
    expect(ruleAcl("pg", { direction: "ingress", remote: { cidr: "192.0.2.0/24" } })!.match).toBe("outport == @pg && ip4 && ip4.src == 192.0.2.0/24");
    expect(ruleAcl("pg", { direction: "egress", remote: { groupId: "g", memberIps: ["10.0.0.6", "10.0.0.5", "fd00::1", "10.0.0.5"] } })!.match).toBe(
      "inport == @pg && ip4 && ip4.dst == {10.0.0.5, 10.0.0.6}",
    );
  });

  it("drops a rule whose remote group has no member of its family (it can match nothing)", () => {
    expect(ruleAcl("pg", { direction: "ingress", remote: { groupId: "g", memberIps: [] } })).toBeUndefined();
    expect(ruleAcl("pg", { direction: "ingress", ethertype: "ipv6", remote: { groupId: "g", memberIps: ["10.0.0.5"] } })).toBeUndefined();
  });

  it("puts the default drop below the rules and lets DHCP requests out", () => {
    const acls = dropAcls("d").map((x) => x.acl);
    expect(acls.filter((a) => a.action === "drop").map((a) => a.priority)).toEqual([1001, 1001]);
    expect(acls.find((a) => a.action === "allow")!.match).toContain("udp.dst == 67");
  });
});
