/** S3 request signing support for lightningstor (ADR 0012): signing keys, never secrets. */
import { s3Credentials, type S3CredentialsRequest } from "../service-s3.ts";
import { op, type ApiOperation } from "./operation.ts";

export const s3Operations: ApiOperation[] = [
  op<S3CredentialsRequest>({
    // auth: false — the caller is not a principal but a data-plane service presenting its service
    // secret (`Authorization: Bearer pcs_...`), which s3Credentials checks itself.
    name: "S3Credentials", method: "POST", path: "/v1/s3/credentials", auth: false, status: 200, response: "S3CredentialsResponse",
    summary: "For data-plane services (a service secret): the SigV4 signing key of an access key for one day, region and service, its owner and a short-lived token of the owner",
    fields: { accessKeyId: "string", date: "string", region: "string", service: "string" }, required: ["accessKeyId", "date", "region", "service"],
    run: (s, _c, i, req) => s3Credentials(s, i, req),
  }),
];
