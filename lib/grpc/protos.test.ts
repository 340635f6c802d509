import { describe, expect, it } from "bun:test";
import { loadProtoRoot, PROTO_FILES } from "./protos.ts";
import { loadRootFromSources, serviceFromRoot } from "./service.ts";

describe("loadRootFromSources", () => {
  const sources = {
    "common/id.proto": 'syntax = "proto3"; package common; message Id { string some_value = 1; }',
    "api/types.proto": 'syntax = "proto3"; package api; import "google/protobuf/empty.proto"; message Ping { google.protobuf.Empty e = 1; }',
    "api/svc.proto": 'syntax = "proto3"; package api; import "types.proto"; import "common/id.proto"; service S { rpc Get(common.Id) returns (Ping); }',
  };

  it("resolves imports next to the importing file, from the root, and protobufjs' bundled files", () => {
    const svc = serviceFromRoot(loadRootFromSources(sources, "api/svc.proto"), "api.S");
    const get = svc.methods.Get!;
    expect(get.path).toBe("/api.S/Get");
    expect(get.decodeRequest(get.encodeRequest({ someValue: "x" }))).toMatchObject({ someValue: "x" });
    expect(loadRootFromSources(sources, "api/svc.proto", { keepCase: true }).lookupType("common.Id").fields.some_value).toBeDefined();
  });

  it("throws on a missing entry or import", () => {
    expect(() => loadRootFromSources(sources, "nope.proto")).toThrow("not found");
    expect(() => loadRootFromSources({ "a.proto": 'syntax = "proto3"; import "b.proto";' }, "a.proto")).toThrow('import "b.proto"');
  });
});

describe("embedded repository protos", () => {
  it("loads every file from its embedded copy", () => {
    for (const name of Object.keys(PROTO_FILES)) expect(loadProtoRoot(name).nestedArray.length).toBeGreaterThan(0);
    expect(loadProtoRoot("etcd/rpc.proto").lookupService("etcdserverpb.KV").methods.Range).toBeDefined();
  });
});
