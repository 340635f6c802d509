/**
 * The OVSDB client against a real ovsdb-server (started here on a fresh OVN_Northbound database,
 * userspace, absolute unix socket). Skips with a reason when Open vSwitch is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { OvsdbClient } from "./client.ts";
import type { Replica } from "./replica.ts";
import { ovsdbUnavailable, startOvsdbServer, type OvsdbServerProcess } from "./test-server.ts";

const NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema";
const NB = "OVN_Northbound";
const skip = ovsdbUnavailable() ?? (existsSync(NB_SCHEMA) ? undefined : `${NB_SCHEMA} missing (apt-get install ovn-central)`);
if (skip) console.log(`skipping OVSDB client tests: ${skip}`);

describe.skipIf(skip !== undefined)("OvsdbClient against ovsdb-server", () => {
  let server: OvsdbServerProcess;
  let client: OvsdbClient;
  let replica: Replica;
  const states: string[] = [];

  beforeAll(async () => {
    server = await startOvsdbServer({ schemas: [NB_SCHEMA], name: "nb" });
    client = await OvsdbClient.connect({ remote: server.remote, probeIntervalMs: 100, onStateChange: (s) => states.push(s) });
    replica = await client.monitor(NB, ["Logical_Switch", "Logical_Switch_Port"]);
  });
  afterAll(async () => {
    client?.close();
    await server?.stop(true);
    if (server) rmSync(server.dir, { recursive: true, force: true });
  });

  const switches = () => [...replica.rows("Logical_Switch").values()];

  it("lists databases and fetches schemas", async () => {
    expect(await client.listDbs()).toContain(NB);
    const schema = await client.getSchema(NB);
    expect(schema.name).toBe(NB);
    expect(Object.keys(schema.tables)).toContain("Logical_Switch_Port");
  });

  it("inserts rows referring to each other by uuid-name, and the monitor sees them before transact returns", async () => {
    const res = await (await client.transaction(NB))
      .insert("Logical_Switch_Port", { name: "p1", addresses: ["00:00:00:00:00:01 10.0.0.1"] }, "p1")
      .insert("Logical_Switch", { name: "ls1", ports: ["p1"], external_ids: { owner: "test" } })
      .commit();
    expect(res).toHaveLength(2);
    const ls = replica.get("Logical_Switch", res[1]!.uuid!);
    expect(ls).toMatchObject({ name: "ls1", ports: [res[0]!.uuid], external_ids: { owner: "test" } });
    // A one-element set comes back bare on the wire; the replica still holds an array.
    expect(replica.get("Logical_Switch_Port", res[0]!.uuid!)?.addresses).toEqual(["00:00:00:00:00:01 10.0.0.1"]);
  });

  it("updates, mutates, selects and deletes", async () => {
    const ls = switches().find((r) => r.name === "ls1")!;
    const uuid = ls._uuid as string;
    await (await client.transaction(NB))
      .update("Logical_Switch", [["_uuid", "==", uuid]], { other_config: { a: "1" } })
      .mutate("Logical_Switch", [["_uuid", "==", uuid]], [["external_ids", "insert", { extra: "x" }]])
      .commit();
    expect(replica.get("Logical_Switch", uuid)?.external_ids).toEqual({ owner: "test", extra: "x" });
    expect(replica.get("Logical_Switch", uuid)?.other_config).toEqual({ a: "1" });
    await (await client.transaction(NB)).mutate("Logical_Switch", [["_uuid", "==", uuid]], [["external_ids", "delete", ["extra"]]]).commit();
    expect(replica.get("Logical_Switch", uuid)?.external_ids).toEqual({ owner: "test" });
    const [sel] = await (await client.transaction(NB)).select("Logical_Switch", [["name", "==", "ls1"]], ["name", "ports"]).commit();
    expect(sel!.rows).toEqual([{ name: "ls1", ports: ls.ports as string[] }]);
    // wait succeeds at once when the condition holds
    await (await client.transaction(NB)).wait("Logical_Switch", [["_uuid", "==", uuid]], ["name"], "==", [{ name: "ls1" }]).commit();
    const [del] = await (await client.transaction(NB)).delete("Logical_Switch", [["_uuid", "==", uuid]]).commit();
    expect(del!.count).toBe(1);
    expect(replica.get("Logical_Switch", uuid)).toBeUndefined();
    // the port was only referenced by the switch: garbage-collected with it
    expect(replica.rows("Logical_Switch_Port").size).toBe(0);
  });

  it("reports a failed transaction as OVSDB:TransactionFailed and commits nothing of it", async () => {
    const txn = (await client.transaction(NB))
      .insert("Logical_Switch", { name: "ok" })
      .insert("Logical_Switch_Port", { name: "dup" }, "a")
      .insert("Logical_Switch_Port", { name: "dup" }, "b")
      .insert("Logical_Switch", { name: "dupsw", ports: ["a", "b"] });
    const err = await txn.commit().catch((e) => e);
    expect(err.code).toBe("OVSDB:TransactionFailed");
    expect(err.details.error).toBe("constraint violation");
    expect(switches().map((r) => r.name)).not.toContain("ok");
    const w = await (await client.transaction(NB)).wait("Logical_Switch", [["name", "==", "nope"]], ["name"], "==", [{ name: "x" }]).commit().catch((e) => e);
    expect(w.code).toBe("OVSDB:TransactionFailed");
    expect(w.details.error).toBe("timed out");
  });

  it("rejects bad values before sending and reports server-side refusals", async () => {
    const t = await client.transaction(NB);
    expect(() => t.insert("Logical_Switch", { name: 5 })).toThrow(expect.objectContaining({ code: "OVSDB:InvalidValue" }));
    expect(() => t.insert("Logical_Switch", { nope: "x" })).toThrow(expect.objectContaining({ code: "OVSDB:InvalidValue" }));
    expect(() => t.insert("No_Such_Table", {})).toThrow(expect.objectContaining({ code: "OVSDB:InvalidValue" }));
    const e = await client.getSchema("No_Such_DB").catch((x) => x);
    expect(e.code).toBe("OVSDB:RpcError");
    await expect(client.monitor(NB, ["Nope"])).rejects.toMatchObject({ code: "OVSDB:InvalidValue" });
  });

  it("keeps replicas equal to the database with monitor_cond (differences) and plain monitor", async () => {
    const v1 = await OvsdbClient.connect({ remote: server.remote, monitorMethod: "monitor" });
    try {
      const rv1 = await v1.monitor(NB, ["Logical_Switch", "Logical_Switch_Port"]);
      const t = () => client.transaction(NB);
      const [p] = await (await t())
        .insert("Logical_Switch_Port", { name: "m1", addresses: ["a", "b"], options: { x: "1", y: "2" } }, "m")
        .insert("Logical_Switch", { name: "mls", ports: ["m"] })
        .commit();
      const w: [string, "==", string] = ["_uuid", "==", p!.uuid!];
      await (await t()).update("Logical_Switch_Port", [w], { addresses: ["b", "c"], enabled: [true], type: "x" }).commit();
      await (await t()).mutate("Logical_Switch_Port", [w], [["options", "insert", { z: "3" }], ["options", "delete", ["x"]]]).commit();
      await (await t()).update("Logical_Switch_Port", [w], { options: { y: "changed", z: "3" }, enabled: [], tag_request: [7] }).commit();
      await (await t()).update("Logical_Switch_Port", [w], { tag_request: [8] }).commit();
      // a write on v1's own connection makes its replica current (updates come in commit order)
      await (await v1.transaction(NB)).insert("Logical_Switch", { name: "sync" }).commit();
      const [sel] = await (await t()).select("Logical_Switch_Port", [w]).commit();
      const norm = (r: Record<string, unknown> | undefined) => JSON.parse(JSON.stringify(r, (k, v) => (k === "_version" ? undefined : v)));
      const want = norm(sel!.rows![0]);
      expect(want).toMatchObject({ addresses: ["b", "c"], options: { y: "changed", z: "3" }, enabled: [], tag_request: [8], type: "x" });
      expect(norm(replica.get("Logical_Switch_Port", p!.uuid!))).toEqual({ ...want, _uuid: p!.uuid });
      expect(norm(rv1.get("Logical_Switch_Port", p!.uuid!))).toEqual({ ...want, _uuid: p!.uuid });
      await (await t()).delete("Logical_Switch", [["name", "==", "mls"]]).delete("Logical_Switch", [["name", "==", "sync"]]).commit();
      expect(replica.get("Logical_Switch_Port", p!.uuid!)).toBeUndefined();
    } finally {
      v1.close();
    }
  });

  it("keeps the connection up through its own echo probes", async () => {
    const before = client.connects;
    await Bun.sleep(450); // > 4 probe intervals of idleness
    expect(client.connects).toBe(before);
    expect(client.connected).toBe(true);
    expect(states).toEqual(["connected"]);
  });

  it("reconnects after the server restarts and re-monitors (replica = server contents)", async () => {
    await (await client.transaction(NB)).insert("Logical_Switch", { name: "before-restart" }).commit();
    await server.stop(true);
    const inflight = client.listDbs().catch((e) => e);
    await Bun.sleep(50);
    expect(client.connected).toBe(false);
    const err = await inflight;
    expect(["OVSDB:Disconnected", "OVSDB:Timeout"]).toContain(err.code);
    server = await startOvsdbServer({ schemas: [NB_SCHEMA], name: "nb", dir: server.dir, reuse: true });
    await client.ready(5000);
    expect(client.connects).toBe(2);
    expect(states).toEqual(["connected", "disconnected", "connected"]);
    expect(switches().map((r) => r.name).sort()).toEqual(["before-restart"]);
    // the monitor is live again on the new connection
    await (await client.transaction(NB)).insert("Logical_Switch", { name: "after-restart" }).commit();
    expect(switches().map((r) => r.name).sort()).toEqual(["after-restart", "before-restart"]);
  });

  it("fails to connect with OVSDB:ConnectionFailed when nothing listens", async () => {
    await expect(OvsdbClient.connect({ remote: `unix:${server.dir}/absent.sock` })).rejects.toMatchObject({ code: "OVSDB:ConnectionFailed" });
    await expect(OvsdbClient.connect({ remote: "bogus" })).rejects.toMatchObject({ code: "PHOTON:InvalidArgument" });
  });
});
