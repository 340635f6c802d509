/**
 * SigV4 against the worked examples of the S3 documentation ("Signature Calculations for the
 * Authorization Header", "Query String Authentication", "Signature Calculation for Streaming
 * Uploads": key AKIAIOSFODNN7EXAMPLE, 2013-05-24): the signatures must come out exactly.
 */
import { describe, expect, it } from "bun:test";
import { Payload } from "./payload.ts";
import { parseQuery, readSignature, signingKeyOf, verifySignature, type RequestParts } from "./sigv4.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const KEY = signingKeyOf(SECRET, "20130524", "us-east-1", "s3");
const AT = Date.UTC(2013, 4, 24, 0, 5);

function parts(method: string, target: string, headers: Record<string, string>): RequestParts {
  const q = target.indexOf("?");
  return { method, rawPath: q < 0 ? target : target.slice(0, q), rawQuery: q < 0 ? "" : target.slice(q + 1), headers: new Headers(headers) };
}

describe("SigV4 header authentication", () => {
  const get = (signature: string) =>
    parts("GET", "/test.txt", {
      host: "examplebucket.s3.amazonaws.com",
      range: "bytes=0-9",
      "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "x-amz-date": "20130524T000000Z",
      authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=${signature}`,
    });

  it("verifies the documented GET Object example", () => {
    const req = get("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    const sig = readSignature(req, [], AT)!;
    expect(sig.accessKeyId).toBe("AKIAIOSFODNN7EXAMPLE");
    verifySignature(req, sig, [], KEY);
  });

  it("refuses a changed signature and a skewed clock", () => {
    const req = get("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb40");
    expect(() => verifySignature(req, readSignature(req, [], AT)!, [], KEY)).toThrow(expect.objectContaining({ code: "S3:SignatureDoesNotMatch" }));
    expect(() => readSignature(req, [], AT + 16 * 60_000)).toThrow(expect.objectContaining({ code: "S3:RequestTimeTooSkewed" }));
  });
});

describe("SigV4 presigned URLs", () => {
  const target =
    "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  it("verifies the documented example and refuses it once expired", () => {
    const req = parts("GET", target, { host: "examplebucket.s3.amazonaws.com" });
    const q = parseQuery(req.rawQuery);
    verifySignature(req, readSignature(req, q, AT)!, q, KEY);
    expect(() => readSignature(req, q, AT + 86_401_000)).toThrow(expect.objectContaining({ code: "S3:AccessDenied" }));
  });
});

describe("signed aws-chunked bodies", () => {
  const headers = {
    host: "s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
    "content-length": "66824",
    authorization:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
  };
  const body = (second = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497") =>
    Buffer.concat([
      Buffer.from("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"),
      Buffer.alloc(65536, "a"),
      Buffer.from(`\r\n400;chunk-signature=${second}\r\n`),
      Buffer.alloc(1024, "a"),
      Buffer.from("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"),
    ]);
  const stream = (b: Buffer) => new ReadableStream<Uint8Array>({ start(c) { for (let i = 0; i < b.length; i += 7000) c.enqueue(b.subarray(i, i + 7000)); c.close(); } });

  async function drain(b: Buffer): Promise<number> {
    const req = parts("PUT", "/examplebucket/chunkObject.txt", headers);
    const sig = readSignature(req, [], AT)!;
    verifySignature(req, sig, [], KEY);
    const p = new Payload({ headers: req.headers, body: stream(b), sig, signingKey: KEY, maxSize: 1 << 20 });
    let n = 0;
    for await (const c of p) n += c.length;
    return n;
  }

  it("decodes the documented example, checking every chunk signature", async () => {
    expect(await drain(body())).toBe(66560);
  });

  it("refuses a chunk whose signature does not chain", async () => {
    await expect(drain(body("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5498"))).rejects.toMatchObject({ code: "S3:SignatureDoesNotMatch" });
  });

  it("refuses a body cut short", async () => {
    await expect(drain(body().subarray(0, 40_000))).rejects.toMatchObject({ code: "S3:IncompleteBody" });
  });
});
