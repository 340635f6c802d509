import { describe, expect, it } from "bun:test";
import { flagOverrides, parseListen } from "./chainfire.ts";

describe("photon chainfire flags", () => {
  it("parses HOST:PORT, [v6]:PORT and tolerates a URL scheme", () => {
    expect(parseListen("listen-client", "10.0.0.2:2379")).toEqual({ host: "10.0.0.2", port: "2379" });
    expect(parseListen("listen-client", "[::1]:2379")).toEqual({ host: "::1", port: "2379" });
    expect(parseListen("listen-client", "http://node1:2379")).toEqual({ host: "node1", port: "2379" });
    expect(() => parseListen("listen-client", "node1")).toThrow(/HOST:PORT/);
    expect(() => parseListen("listen-client", "node1:99999")).toThrow(/HOST:PORT/);
  });

  it("maps each flag onto its configuration key", () => {
    const o = flagOverrides({
      name: "n2", "data-dir": "/srv/p", "listen-client": "10.0.0.2:2379", "listen-peer": "10.0.0.2:2380", "http-port": "0",
      join: "http://10.0.0.1:2379", "cert-file": "c.pem", "key-file": "k.pem", "trusted-ca-file": "ca.pem", "client-cert-auth": true,
    });
    expect({ ...o }).toEqual({
      "node.name": "n2", "node.data_dir": "/srv/p", "node.bind_host": "10.0.0.2", "chainfire.client_port": "2379", "chainfire.peer_port": "2380",
      "chainfire.http_port": "0", "chainfire.join": "http://10.0.0.1:2379", "tls.cert_file": "c.pem", "tls.key_file": "k.pem", "tls.ca_file": "ca.pem",
      "tls.enabled": "true", "tls.require_client_cert": "true",
    });
    expect({ ...flagOverrides({}) }).toEqual({});
  });

  it("refuses client and peer listeners on different hosts", () => {
    expect(() => flagOverrides({ "listen-client": "10.0.0.2:2379", "listen-peer": "10.0.0.3:2380" })).toThrow(/same host/);
  });
});
