import { describe, expect, it } from "bun:test";
import { GrpcStatus, PhotonError } from "../errors.ts";
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  errorFromStatus,
  formatGrpcTimeout,
  genericErrorCode,
  grpcStatusFromHttp,
  parseGrpcTimeout,
} from "./status.ts";

describe("grpc-message percent-encoding", () => {
  it("leaves printable ASCII alone and encodes %, controls and UTF-8", () => {
    expect(encodeGrpcMessage("plain text: ok")).toBe("plain text: ok");
    expect(encodeGrpcMessage("100%")).toBe("100%25");
    expect(encodeGrpcMessage("a\nb")).toBe("a%0Ab");
    expect(encodeGrpcMessage("héllo ✓")).toBe("h%C3%A9llo %E2%9C%93");
  });

  it("round-trips any string", () => {
    for (const s of ["", "x", "%", "%%41", "tab\there", "日本語のエラー", "emoji 😀 %zz"]) {
      expect(decodeGrpcMessage(encodeGrpcMessage(s))).toBe(s);
    }
  });

  it("keeps malformed escapes literally", () => {
    expect(decodeGrpcMessage("50%")).toBe("50%");
    expect(decodeGrpcMessage("%zzok")).toBe("%zzok");
    expect(decodeGrpcMessage("%4")).toBe("%4");
  });
});

describe("grpc-timeout", () => {
  it("parses every unit", () => {
    expect(parseGrpcTimeout("1H")).toBe(3_600_000);
    expect(parseGrpcTimeout("2M")).toBe(120_000);
    expect(parseGrpcTimeout("3S")).toBe(3000);
    expect(parseGrpcTimeout("250m")).toBe(250);
    expect(parseGrpcTimeout("1500u")).toBe(1.5);
    expect(parseGrpcTimeout("2000000n")).toBe(2);
    expect(parseGrpcTimeout("99999999S")).toBe(99_999_999_000);
  });

  it("rejects malformed values", () => {
    for (const v of ["", "S", "10", "10x", "123456789S", "-1S", "1.5S", " 1S"]) expect(parseGrpcTimeout(v)).toBeUndefined();
  });

  it("formats with at most 8 digits, rounding up", () => {
    expect(formatGrpcTimeout(250)).toBe("250m");
    expect(formatGrpcTimeout(0.5)).toBe("500000n");
    expect(formatGrpcTimeout(100_000_000)).toBe("100000S");
    expect(formatGrpcTimeout(0)).toBe("0n");
    for (const ms of [1, 999, 12_345_678, 123_456_789_012]) {
      const v = formatGrpcTimeout(ms);
      expect(v.length).toBeLessThanOrEqual(9);
      expect(parseGrpcTimeout(v)).toBeGreaterThanOrEqual(ms);
    }
  });
});

describe("status mapping", () => {
  it("maps HTTP statuses of non-gRPC answers as the gRPC spec says", () => {
    expect(grpcStatusFromHttp(400)).toBe(GrpcStatus.INTERNAL);
    expect(grpcStatusFromHttp(401)).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(grpcStatusFromHttp(403)).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(grpcStatusFromHttp(404)).toBe(GrpcStatus.UNIMPLEMENTED);
    expect(grpcStatusFromHttp(503)).toBe(GrpcStatus.UNAVAILABLE);
    expect(grpcStatusFromHttp(500)).toBe(GrpcStatus.UNKNOWN);
  });

  it("rebuilds a PhotonError from its code, or names the status", () => {
    const e = errorFromStatus(5, "gone", "S3:NoSuchBucket", encodeGrpcMessage(JSON.stringify({ bucket: "b" })));
    expect(e).toBeInstanceOf(PhotonError);
    expect(e.code).toBe("S3:NoSuchBucket");
    expect(e.grpcStatus).toBe(GrpcStatus.NOT_FOUND);
    expect(e.details).toEqual({ bucket: "b" });
    expect(errorFromStatus(14, "down", undefined).code).toBe("GRPC:Unavailable");
    expect(errorFromStatus(99, "?", undefined).grpcStatus).toBe(GrpcStatus.UNKNOWN);
    expect(genericErrorCode(4)).toBe("GRPC:DeadlineExceeded");
  });
});
