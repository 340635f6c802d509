/**
 * lightningstor's error catalogue: S3's own error codes (`S3:NoSuchBucket`) with S3's HTTP
 * statuses, so `api/respond.ts` renders each as the S3 XML error document real clients expect
 * (`<Code>NoSuchBucket</Code>`): the part after `S3:` is the S3 code.
 */
import { defineErrors, GrpcStatus } from "../../lib/errors.ts";

const G = GrpcStatus;

/** Every S3 error lightningstor returns. */
export const S3Errors = defineErrors("S3", {
  AccessDenied: { grpc: G.PERMISSION_DENIED, http: 403, hint: "use credentials of the bucket's project, or ask for a binding there" },
  InvalidAccessKeyId: { grpc: G.UNAUTHENTICATED, http: 403, hint: "the access key does not exist or is disabled: create one with `photon accesskey create`" },
  SignatureDoesNotMatch: { grpc: G.UNAUTHENTICATED, http: 403, hint: "check the secret key and that nothing rewrites the request" },
  RequestTimeTooSkewed: { grpc: G.UNAUTHENTICATED, http: 403, hint: "fix the client's clock (15 minutes at most apart)" },
  AuthorizationHeaderMalformed: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "send a SigV4 Authorization header" },
  AuthorizationQueryParametersError: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "fix the presigned URL's X-Amz-* parameters" },
  ExpiredToken: { grpc: G.UNAUTHENTICATED, http: 400, hint: "presign the URL again" },
  MissingSecurityHeader: { grpc: G.UNAUTHENTICATED, http: 400, hint: "send the x-amz-content-sha256 header" },
  XAmzContentSHA256Mismatch: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "the body differs from its announced SHA-256: resend it" },
  NoSuchBucket: { grpc: G.NOT_FOUND, http: 404, hint: "create the bucket first" },
  NoSuchKey: { grpc: G.NOT_FOUND, http: 404, hint: "check the key" },
  NoSuchVersion: { grpc: G.NOT_FOUND, http: 404, hint: "list the key's versions with ListObjectVersions" },
  NoSuchTagSet: { grpc: G.NOT_FOUND, http: 404, hint: "the bucket has no tags: put some with PutBucketTagging" },
  NoSuchCORSConfiguration: { grpc: G.NOT_FOUND, http: 404, hint: "the bucket has no CORS rules: put some with PutBucketCors" },
  NoSuchLifecycleConfiguration: { grpc: G.NOT_FOUND, http: 404, hint: "the bucket has no lifecycle rules" },
  NoSuchBucketPolicy: { grpc: G.NOT_FOUND, http: 404, hint: "the bucket has no policy" },
  MalformedPolicy: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "see the message: Effect, Principal, Action (s3:*) and Resource (arn:aws:s3:::bucket[/key]) are required" },
  InvalidPolicyDocument: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "the POST form's policy must be base64 JSON with expiration and conditions" },
  InvalidTag: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "at most 10 tags (50 on buckets), keys up to 128 and values up to 256 characters, keys unique" },
  IllegalVersioningConfigurationException: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "Status must be Enabled or Suspended" },
  AccessForbidden: { grpc: G.PERMISSION_DENIED, http: 403, hint: "no CORS rule of the bucket allows this origin, method and headers" },
  MalformedPOSTRequest: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "send multipart/form-data with the fields before the file" },
  BadRequest: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "see the message" },
  NoSuchUpload: { grpc: G.NOT_FOUND, http: 404, hint: "the multipart upload was completed or aborted: start a new one" },
  BucketAlreadyExists: { grpc: G.ALREADY_EXISTS, http: 409, hint: "bucket names are global: pick another" },
  BucketAlreadyOwnedByYou: { grpc: G.ALREADY_EXISTS, http: 409, hint: "the bucket exists and is yours already" },
  BucketNotEmpty: { grpc: G.FAILED_PRECONDITION, http: 409, hint: "delete its objects and uploads first" },
  InvalidBucketName: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "3-63 lowercase letters, digits, dots, dashes; starts and ends with a letter or digit" },
  KeyTooLongError: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "keys are at most 1024 bytes" },
  InvalidArgument: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "the message names the bad argument" },
  InvalidRequest: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "the message says what is wrong" },
  MalformedXML: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "send well-formed XML in S3's schema" },
  InvalidDigest: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "Content-MD5 must be the base64 of 16 bytes" },
  BadDigest: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "the body does not match its Content-MD5 or x-amz-checksum: resend it" },
  IncompleteBody: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "the body ended before its Content-Length: resend it" },
  InvalidPart: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "complete with the part numbers and ETags UploadPart returned" },
  InvalidPartOrder: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "list parts in ascending part-number order" },
  EntityTooSmall: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "every part but the last must be at least 5 MiB" },
  EntityTooLarge: { grpc: G.INVALID_ARGUMENT, http: 400, hint: "use a multipart upload" },
  MissingContentLength: { grpc: G.INVALID_ARGUMENT, http: 411, hint: "send Content-Length (or x-amz-decoded-content-length with aws-chunked)" },
  InvalidRange: { grpc: G.OUT_OF_RANGE, http: 416, hint: "ask for a range inside the object" },
  PreconditionFailed: { grpc: G.FAILED_PRECONDITION, http: 412, hint: "the object changed: fetch it again" },
  NotModified: { grpc: G.FAILED_PRECONDITION, http: 304, hint: "your copy is current" },
  MethodNotAllowed: { grpc: G.INVALID_ARGUMENT, http: 405, hint: "this method does not apply to this resource" },
  NotImplemented: { grpc: G.UNIMPLEMENTED, http: 501, hint: "not supported yet: see services/lightningstor/SPEC.md" },
  InternalError: { grpc: G.INTERNAL, http: 500, hint: "a bug or a failing disk: retry, and report it with the request id" },
  ServiceUnavailable: { grpc: G.UNAVAILABLE, http: 503, hint: "retry with backoff" },
});
