/**
 * `LightningstorClient`: how the `photon` CLI (and other services) manage buckets with an iam
 * access token (`Authorization: Bearer`) instead of SigV4. Errors come back as PhotonErrors with
 * the S3 code (`S3:BucketAlreadyExists`), rebuilt from the XML error document's `<Code>`.
 * Object data goes through any S3 client with an access key.
 * @example
 * const s3 = new LightningstorClient("http://127.0.0.1:9000", token);
 * await s3.createBucket("photos", { project });
 */
import { GrpcStatus, PhotonError } from "../../lib/errors.ts";
import { XMLParser } from "fast-xml-parser";

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (n) => n === "Bucket" });

/** A bucket as listed. */
export interface BucketEntry {
  name: string;
  createdAt: string;
}

/** See the module comment. */
export class LightningstorClient {
  constructor(readonly baseUrl: string, private readonly token: string, private readonly timeoutMs = 10_000) {}

  private async call(method: string, path: string, headers: Record<string, string> = {}): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl.replace(/\/$/, "")}${path}`, { method, headers: { authorization: `Bearer ${this.token}`, ...headers }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new PhotonError("PHOTON:Unavailable", `lightningstor does not answer at ${this.baseUrl}: ${(e as Error).message}`, { grpc: GrpcStatus.UNAVAILABLE, cause: e });
    }
    const text = await res.text();
    if (!res.ok) {
      const m = /<Code>([^<]+)<\/Code>[\s\S]*?<Message>([^<]*)<\/Message>/.exec(text);
      throw new PhotonError(`S3:${m?.[1] ?? "InternalError"}`, m?.[2] ?? `HTTP ${res.status}`, { http: res.status });
    }
    return text;
  }

  /** Creates a bucket in `project` (default: the token's). @throws S3:BucketAlreadyExists, S3:InvalidBucketName, S3:AccessDenied. */
  async createBucket(name: string, options: { project?: string } = {}): Promise<void> {
    await this.call("PUT", `/${encodeURIComponent(name)}`, options.project ? { "x-photon-project": options.project } : {});
  }

  /** The buckets the token's principal may list. */
  async listBuckets(): Promise<BucketEntry[]> {
    const doc = parser.parse(await this.call("GET", "/")) as { ListAllMyBucketsResult?: { Buckets?: { Bucket?: { Name: string; CreationDate: string }[] } } };
    return (doc.ListAllMyBucketsResult?.Buckets?.Bucket ?? []).map((b) => ({ name: b.Name, createdAt: b.CreationDate }));
  }

  /** Deletes an empty bucket. @throws S3:BucketNotEmpty, S3:NoSuchBucket, S3:AccessDenied. */
  async deleteBucket(name: string): Promise<void> {
    await this.call("DELETE", `/${encodeURIComponent(name)}`);
  }
}
