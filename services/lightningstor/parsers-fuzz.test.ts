/**
 * The parsers of untrusted bytes (aws-chunked framing, SigV4 headers and queries, XML bodies,
 * ranges, keys, tags, CORS/lifecycle documents, bucket policies) fed random and mutated input: they answer with S3 errors (PhotonErrors with an
 * `S3:` code) or a value, never with anything else, and never hang.
 */
import { describe, expect, it } from "bun:test";
import { PhotonError } from "../../lib/errors.ts";
import { parseRange } from "./api/objects.ts";
import { parseXml } from "./api/xml.ts";
import { parseCors } from "./cors.ts";
import { parseLifecycle } from "./lifecycle.ts";
import { checkKey } from "./names.ts";
import { Payload } from "./payload.ts";
import { parsePolicy } from "./policy.ts";
import { parseQuery, readSignature, signingKeyOf } from "./sigv4.ts";
import { parseTagHeader, parseTagging } from "./tags.ts";

let seed = 12345;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const ALPHABET = "0123456789abcdef;=-\r\n:xchunk-signature trailer AWS4 /<>&#\"'";
const junk = (n: number) => Array.from({ length: n }, () => ALPHABET[rnd(ALPHABET.length)]).join("");

function onlyS3Errors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PhotonError);
    expect((e as PhotonError).code).toStartWith("S3:");
  }
}

describe("parsers under random input", () => {
  it("aws-chunked decoding", async () => {
    const key = signingKeyOf("secret", "20130524", "us-east-1", "s3");
    const sig = { accessKeyId: "AK", date: "20130524", region: "us-east-1", service: "s3", amzDate: "20130524T000000Z", signedHeaders: ["host"], signature: "0".repeat(64), presigned: false, payloadHash: "" };
    const valid = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
    for (let i = 0; i < 400; i++) {
      const mode = ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"][i % 2]!;
      let text = i % 3 === 0 ? junk(rnd(200)) : valid;
      if (i % 3 === 1) text = text.slice(0, rnd(text.length)) + junk(rnd(5)) + text.slice(rnd(text.length));
      const headers = new Headers({ "x-amz-content-sha256": mode, "x-amz-decoded-content-length": String(rnd(10)), "x-amz-trailer": "x-amz-checksum-crc32" });
      try {
        const p = new Payload({ headers, body: new Blob([text]).stream(), sig: { ...sig, payloadHash: mode }, signingKey: key, maxSize: 1000 });
        for await (const _ of p) void _;
      } catch (e) {
        expect(e).toBeInstanceOf(PhotonError);
        expect((e as PhotonError).code).toStartWith("S3:");
      }
    }
  });

  it("SigV4 headers and queries, XML, ranges, keys", () => {
    for (let i = 0; i < 2000; i++) {
      const s = junk(rnd(120)).replace(/[\r\n]/g, " ");
      onlyS3Errors(() => readSignature({ method: "GET", rawPath: "/", rawQuery: s, headers: new Headers({ authorization: `AWS4-HMAC-SHA256 ${s}`, "x-amz-date": s.slice(0, 16), "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }) }, [["X-Amz-Credential", s]]));
      onlyS3Errors(() => parseQuery(s.replace(/[\r\n]/g, "")));
      onlyS3Errors(() => parseXml(`<Delete>${s}</Delete>`, "Delete"));
      onlyS3Errors(() => parseRange(`bytes=${s.slice(0, 10)}`, 100));
      onlyS3Errors(() => checkKey(s));
    }
  });

  it("tags, CORS and lifecycle documents, bucket policies", () => {
    const docs: [string, (d: Record<string, unknown>) => unknown][] = [
      ["<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>", (d) => parseTagging(d)],
      ["<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>5</MaxAgeSeconds></CORSRule></CORSConfiguration>", parseCors],
      ["<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Expiration><Days>3</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>", parseLifecycle],
    ];
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: ["sa_1"] }, Action: ["s3:GetObject"], Resource: "arn:aws:s3:::b/*", Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }] });
    for (let i = 0; i < 1500; i++) {
      const [doc, parse] = docs[i % docs.length]!;
      const cut = rnd(doc.length);
      const mutated = i % 2 ? doc.slice(0, cut) + junk(rnd(8)) + doc.slice(cut + rnd(6)) : doc.replace(/>[^<]*</, `>${junk(rnd(10)).replace(/[<&]/g, "")}<`);
      const root = /^<(\w+)/.exec(doc)![1]!;
      onlyS3Errors(() => parse(parseXml(mutated, root)));
      const pc = rnd(policy.length);
      onlyS3Errors(() => parsePolicy(policy.slice(0, pc) + junk(rnd(4)) + policy.slice(pc + rnd(4)), "b"));
      onlyS3Errors(() => parseTagHeader(junk(rnd(40))));
    }
  });
});
