import { describe, expect, it } from "bun:test";
import { encodeHeaders, HpackDecoder, HpackError, huffmanDecode } from "./hpack.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

// RFC 7541 Appendix C: each case is decoded in order on one decoder (the table carries over).
const requests = [
  [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]],
  [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"], ["cache-control", "no-cache"]],
  [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], ["custom-key", "custom-value"]],
];
const requestSizes = [57, 110, 164];
const responses = [
  [[":status", "302"], ["cache-control", "private"], ["date", DATE1], ["location", "https://www.example.com"]],
  [[":status", "307"], ["cache-control", "private"], ["date", DATE1], ["location", "https://www.example.com"]],
  [[":status", "200"], ["cache-control", "private"], ["date", DATE2], ["location", "https://www.example.com"], ["content-encoding", "gzip"], ["set-cookie", COOKIE]],
];
const responseSizes = [222, 222, 215];

describe("HPACK decoder (RFC 7541 Appendix C)", () => {
  it("C.3: requests without Huffman coding", () => {
    const d = new HpackDecoder();
    const blocks = ["828684410f7777772e6578616d706c652e636f6d", "828684be58086e6f2d6361636865", "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"];
    blocks.forEach((b, i) => {
      expect(d.decode(hex(b))).toEqual(requests[i] as never);
      expect(d.tableSize).toBe(requestSizes[i]!);
    });
    expect(d.table.map((f) => f[0])).toEqual(["custom-key", "cache-control", ":authority"]);
  });

  it("C.4: requests with Huffman coding", () => {
    const d = new HpackDecoder();
    const blocks = ["828684418cf1e3c2e5f23a6ba0ab90f4ff", "828684be5886a8eb10649cbf", "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"];
    blocks.forEach((b, i) => {
      expect(d.decode(hex(b))).toEqual(requests[i] as never);
      expect(d.tableSize).toBe(requestSizes[i]!);
    });
  });

  it("C.5: responses with evictions from a 256-octet table", () => {
    const d = new HpackDecoder(4096);
    d.decode(hex("3fe101")); // size update to 256 (RFC's setting for C.5)
    const blocks = [
      "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
      "4803333037c1c0bf",
      "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
    ];
    blocks.forEach((b, i) => {
      expect(d.decode(hex(b))).toEqual(responses[i] as never);
      expect(d.tableSize).toBe(responseSizes[i]!);
    });
  });

  it("C.6: responses with Huffman coding and evictions", () => {
    const d = new HpackDecoder(4096);
    d.decode(hex("3fe101"));
    const blocks = [
      "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
      "4883640effc1c0bf",
      "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    ];
    blocks.forEach((b, i) => {
      expect(d.decode(hex(b))).toEqual(responses[i] as never);
      expect(d.tableSize).toBe(responseSizes[i]!);
    });
  });
});

describe("HPACK decoder errors", () => {
  const bad: [string, string][] = [
    ["index 0", "80"],
    ["an index past the tables", "ff00"],
    ["a size update above the advertised limit", "3fe21f"], // 4097,
    ["a size update after a field", "823f01"],
    ["a truncated string", "400a6375"],
    ["a truncated integer", "ff"],
    ["an oversized integer", "ffffffffff7f"],
  ];
  for (const [what, block] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => new HpackDecoder().decode(hex(block))).toThrow(HpackError);
    });
  }

  it("rejects Huffman padding that is too long or not all ones", () => {
    expect(huffmanDecode(hex("f1e3c2e5f23a6ba0ab90f4ff"), 0, 12)).toBe("www.example.com");
    expect(() => huffmanDecode(hex("f1e3c2e5f23a6ba0ab90f4ffff"), 0, 13)).toThrow(HpackError); // 8+ bits of padding
    expect(() => huffmanDecode(hex("00"), 0, 1)).toThrow(HpackError); // "0" + zero padding
  });
});

describe("HPACK encoder", () => {
  it("round-trips through the decoder without touching the dynamic table", () => {
    const fields: [string, string][] = [
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-status", "0"],
      ["grpc-message", "x".repeat(300)],
      ["x-custom-bin", "AQID"],
    ];
    const d = new HpackDecoder();
    expect(d.decode(encodeHeaders(fields))).toEqual(fields);
    expect(d.tableSize).toBe(0);
    expect(encodeHeaders([[":status", "200"]])).toEqual(hex("88"));
  });
});
