/**
 * TLS and mutual TLS, with certificates made for the run by openssl (a throw-away CA, a server
 * certificate for 127.0.0.1, a client certificate from the CA and one from nobody).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhotonError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { GrpcClient } from "./client.ts";
import { GrpcServer } from "./server.ts";
import { echoService } from "./testdata/echo-service.ts";
import { grpc, grpcJsClient } from "./testdata/grpc-js-interop.ts";
import { GRPC_TRANSPORTS } from "./testdata/transports.ts";

describe.each(GRPC_TRANSPORTS)("%s transport", (transport) => {
  const U = echoService.methods.Unary;
  const quiet = createLogger("grpc-test", { sink: { write: () => {} } });
  const dir = mkdtempSync(join(tmpdir(), "photon-grpc-tls-"));
  const pem = (name: string) => readFileSync(join(dir, name), "utf8");

  function openssl(...args: string[]): void {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  }

  /** A key and a certificate signed by the test CA (or self-signed when `ca` is false). */
  function issue(name: string, subject: string, ext: string, ca = true): void {
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
    writeFileSync(join(dir, `${name}.ext`), ext);
    const signer = ca ? ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"] : ["-signkey", `${name}.key`];
    openssl("x509", "-req", "-in", `${name}.csr`, ...signer, "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
  }

  async function failure(p: Promise<unknown>): Promise<PhotonError> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(PhotonError);
      return e as PhotonError;
    }
    throw new Error("expected the call to fail");
  }

  beforeAll(() => {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
      "-days", "2", "-subj", "/CN=photon-test-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    issue("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    issue("client", "/CN=svc-iam", "extendedKeyUsage=clientAuth\n");
    issue("rogue", "/CN=rogue", "extendedKeyUsage=clientAuth\n", false);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe("TLS", () => {
    let server: GrpcServer;
    let port: number;

    beforeAll(async () => {
      server = new GrpcServer({ transport, tls: { cert: pem("server.crt"), key: pem("server.key") }, logger: quiet });
      server.addService(echoService, { Unary: (req) => ({ message: req.message }) });
      port = await server.listen(0);
    });

    afterAll(() => server.stop(100));

    it("serves clients that trust its CA", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`, { tls: { ca: pem("ca.crt") } });
      expect((await c.unary(U, { message: "secure" })).message).toBe("secure");
      c.close();
    });

    it("is refused by clients that do not trust it", async () => {
      const c = new GrpcClient(`https://127.0.0.1:${port}`);
      expect((await failure(c.unary(U, {}))).code).toBe("GRPC:Unavailable");
      c.close();
    });

    it("serves a @grpc/grpc-js client over TLS", async () => {
      // grpc-js would send the IP as TLS server name, which Bun refuses: name the certificate's DNS name.
      const c = grpcJsClient(echoService, `127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(pem("ca.crt"))), {
        "grpc.ssl_target_name_override": "localhost",
      });
      const res = await new Promise<{ message?: string }>((resolve, reject) =>
        c.Unary({ message: "js" }, (err: Error | null, r: { message?: string }) => (err ? reject(err) : resolve(r))),
      );
      expect(res.message).toBe("js");
      c.close();
    });
  });

  describe("mutual TLS", () => {
    let server: GrpcServer;
    let port: number;

    beforeAll(async () => {
      server = new GrpcServer({
        transport,
        tls: { cert: pem("server.crt"), key: pem("server.key"), ca: pem("ca.crt"), requestCert: true, rejectUnauthorized: true },
        logger: quiet,
      });
      server.addService(echoService, { Unary: (_req, ctx) => ({ message: String(ctx.peerCertificate()?.subject?.CN) }) });
      port = await server.listen(0);
    });

    afterAll(() => server.stop(100));

    it("accepts clients with a certificate from its CA and shows it to handlers", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`, { tls: { ca: pem("ca.crt"), cert: pem("client.crt"), key: pem("client.key") } });
      expect((await c.unary(U, {})).message).toBe("svc-iam");
      c.close();
    });

    it("refuses clients without a certificate or with one from another CA", async () => {
      const none = new GrpcClient(`127.0.0.1:${port}`, { tls: { ca: pem("ca.crt") } });
      expect((await failure(none.unary(U, {}))).grpcStatus).toBe(14);
      none.close();
      const rogue = new GrpcClient(`127.0.0.1:${port}`, { tls: { ca: pem("ca.crt"), cert: pem("rogue.crt"), key: pem("rogue.key") } });
      expect((await failure(rogue.unary(U, {}))).grpcStatus).toBe(14);
      rogue.close();
    });
  });
});
