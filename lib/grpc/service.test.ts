import { describe, expect, it } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadService } from "./service.ts";
import { ECHO_PROTO } from "./testdata/echo-service.ts";

describe("loadService", () => {
  it("resolves every method's path, kind and codecs", () => {
    const svc = loadService(ECHO_PROTO, "photon.test.Echo");
    expect(svc.name).toBe("photon.test.Echo");
    const kinds = Object.fromEntries(Object.values(svc.methods).map((m) => [m.name, [m.path, m.kind]]));
    expect(kinds).toEqual({
      Unary: ["/photon.test.Echo/Unary", "unary"],
      ServerStream: ["/photon.test.Echo/ServerStream", "serverStream"],
      ClientStream: ["/photon.test.Echo/ClientStream", "clientStream"],
      Bidi: ["/photon.test.Echo/Bidi", "bidi"],
      NotImplemented: ["/photon.test.Echo/NotImplemented", "unary"],
    });
    const m = svc.methods.Unary;
    expect(m?.decodeRequest(m.encodeRequest({ message: "x", bigNumber: 7, responseBytes: 3 }))).toMatchObject({ message: "x", responseBytes: 3 });
  });

  it("uses lowerCamelCase field names unless keepCase is set", () => {
    const snake = loadService(ECHO_PROTO, "photon.test.Echo", { keepCase: true }).methods.Unary;
    const decoded = snake?.decodeRequest(snake.encodeRequest({ delay_ms: 5 })) as Record<string, unknown>;
    expect(decoded.delay_ms).toBe(5);
    expect(decoded.delayMs).toBeUndefined();
  });

  it("finds imports through includeDirs and fails clearly on unknown services", () => {
    const dir = mkdtempSync(join(tmpdir(), "photon-proto-"));
    try {
      mkdirSync(join(dir, "include", "common"), { recursive: true });
      mkdirSync(join(dir, "api"));
      writeFileSync(join(dir, "include", "common", "id.proto"), 'syntax = "proto3"; package common; message Id { string value = 1; }');
      writeFileSync(
        join(dir, "api", "svc.proto"),
        'syntax = "proto3"; package api; import "common/id.proto"; service S { rpc Get(common.Id) returns (common.Id); }',
      );
      const svc = loadService(join(dir, "api", "svc.proto"), "api.S", { includeDirs: [join(dir, "include")] });
      expect(svc.methods.Get?.requestType.fullName).toBe(".common.Id");
      expect(() => loadService(join(dir, "api", "svc.proto"), "api.Nope", { includeDirs: [join(dir, "include")] })).toThrow();
      expect(() => loadService(join(dir, "api", "svc.proto"), "api.S")).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
