import { describe, expect, it } from "bun:test";
import { HTTPException } from "hono/http-exception";
import { CommonErrors, defineErrors, GrpcStatus } from "./errors.ts";
import { boundaryError, errorResponse } from "./http-errors.ts";

describe("boundaryError", () => {
  it("passes a PhotonError through unchanged", () => {
    const Errors = defineErrors("S3", { NoSuchBucket: { grpc: GrpcStatus.NOT_FOUND, hint: "create it" } });
    const thrown = Errors.NoSuchBucket("bucket b does not exist");
    expect(boundaryError(thrown, "r1")).toEqual({ error: thrown, serverFault: false });
  });

  it("hides anything else behind PHOTON:Internal with the request id", () => {
    const { error, serverFault } = boundaryError(new TypeError("x is undefined in /srv/code.ts"), "r1");
    expect(serverFault).toBe(true);
    expect(error.toJSON()).toEqual({ error: { code: "PHOTON:Internal", message: "internal error", details: { requestId: "r1" } } });
  });

  it("maps HTTPException statuses to the common codes", () => {
    const code = (status: 400 | 401 | 403 | 404 | 413 | 500 | 503) =>
      boundaryError(new HTTPException(status, { message: "m" }), "r").error;
    expect(code(400).code).toBe("PHOTON:InvalidArgument");
    expect(code(401).code).toBe("PHOTON:Unauthenticated");
    expect(code(403).code).toBe("PHOTON:PermissionDenied");
    expect(code(404).code).toBe("PHOTON:NotFound");
    expect([code(413).code, code(413).status]).toEqual(["PHOTON:InvalidArgument", 413]);
    expect([code(500).code, code(500).message]).toEqual(["PHOTON:Internal", "internal error"]);
    expect(code(503).code).toBe("PHOTON:Unavailable");
  });
});

describe("errorResponse", () => {
  it("sends the error's JSON body with its HTTP status", async () => {
    const res = errorResponse(CommonErrors.PermissionDenied("no"));
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await res.json()).toEqual({ error: { code: "PHOTON:PermissionDenied", message: "no" } });
  });
});
