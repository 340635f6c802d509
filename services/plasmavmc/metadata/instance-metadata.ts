/**
 * What a guest learns about itself from the metadata service, and its renderings in the three
 * layouts cloud-init and its peers read at http://169.254.169.254:
 * - OpenStack (`/openstack/latest/meta_data.json`, `user_data`, `network_data.json`, `vendor_data.json`),
 * - EC2 (`/latest/meta-data/...`, `/latest/user-data`), which OpenStack also serves,
 * - NoCloud over HTTP (`/nocloud/meta-data`, `user-data`, `vendor-data`; kernel argument
 *   `ds=nocloud;s=http://169.254.169.254/nocloud/`).
 * Pure functions: the server (metadata-server.ts) maps a path to one of these.
 */

/** One instance's metadata. */
export interface InstanceMetadata {
  /** Stable instance id (cloud-init keys its once-per-instance work on it). */
  uuid: string;
  name: string;
  /** Fully qualified or short host name. */
  hostname: string;
  projectId?: string;
  availabilityZone?: string;
  /** SSH public keys by name. */
  publicKeys: Record<string, string>;
  /** Raw user-data (cloud-config, a `#!` script, ...); absent means none. */
  userData?: string;
}

/** A rendered document: its body and content type; undefined when the path has nothing. */
export interface MetadataDocument {
  body: string;
  contentType: string;
}

const json = (v: unknown): MetadataDocument => ({ body: JSON.stringify(v), contentType: "application/json" });
const text = (s: string): MetadataDocument => ({ body: s, contentType: "text/plain; charset=utf-8" });

/** OpenStack versions we serve (cloud-init asks for the list, then uses `latest` or the newest it knows). */
const OPENSTACK_VERSIONS = ["2018-08-27", "latest"];

function keyNames(m: InstanceMetadata): string[] {
  return Object.keys(m.publicKeys).sort();
}

/** Renders the OpenStack layout; `path` is what follows `/openstack`. */
export function openstackDocument(m: InstanceMetadata, path: string): MetadataDocument | undefined {
  if (path === "" || path === "/") return text(`${OPENSTACK_VERSIONS.join("\n")}\n`);
  const match = /^\/([^/]+)(\/.*)?$/.exec(path);
  if (!match || !OPENSTACK_VERSIONS.includes(match[1]!)) return undefined;
  switch (match[2] ?? "/") {
    case "/":
      return text(`meta_data.json\nnetwork_data.json\nvendor_data.json\n${m.userData !== undefined ? "user_data\n" : ""}`);
    case "/meta_data.json":
      return json({
        uuid: m.uuid,
        name: m.name,
        hostname: m.hostname,
        launch_index: 0,
        availability_zone: m.availabilityZone ?? "nova",
        project_id: m.projectId ?? "",
        public_keys: m.publicKeys,
        keys: keyNames(m).map((name) => ({ name, type: "ssh", data: m.publicKeys[name] })),
        meta: {},
      });
    case "/user_data":
      return m.userData === undefined ? undefined : { body: m.userData, contentType: "application/octet-stream" };
    case "/network_data.json":
      return json({ links: [], networks: [], services: [] }); // DHCP configures the network
    case "/vendor_data.json":
      return json({});
    default:
      return undefined;
  }
}

/** Renders the EC2 layout; `path` is what follows `/latest` (or a dated version). */
export function ec2Document(m: InstanceMetadata, path: string): MetadataDocument | undefined {
  const names = keyNames(m);
  const short = m.hostname.split(".")[0]!;
  const leaves: Record<string, string> = {
    "instance-id": m.uuid,
    hostname: m.hostname,
    "local-hostname": short,
    "placement/availability-zone": m.availabilityZone ?? "nova",
  };
  if (path === "/user-data") return m.userData === undefined ? undefined : { body: m.userData, contentType: "application/octet-stream" };
  if (path === "" || path === "/") return text(`meta-data/\n${m.userData !== undefined ? "user-data\n" : ""}`);
  if (!path.startsWith("/meta-data")) return undefined;
  const rest = path.slice("/meta-data".length).replace(/^\//, "").replace(/\/$/, "");
  if (rest === "") return text(`instance-id\nhostname\nlocal-hostname\nplacement/\n${names.length ? "public-keys/\n" : ""}`);
  if (rest === "placement") return text("availability-zone\n");
  if (leaves[rest] !== undefined) return text(leaves[rest]!);
  if (rest === "public-keys") return names.length ? text(names.map((n, i) => `${i}=${n}`).join("\n")) : undefined;
  const key = /^public-keys\/(\d+)(?:\/(openssh-key))?$/.exec(rest);
  if (key) {
    const name = names[Number(key[1])];
    if (name === undefined) return undefined;
    return key[2] ? text(m.publicKeys[name]!) : text("openssh-key");
  }
  return undefined;
}

/** YAML-safe scalar (double-quoted JSON string is valid YAML). */
const yaml = (s: string) => JSON.stringify(s);

/** Renders the NoCloud layout; `path` is what follows `/nocloud`. */
export function nocloudDocument(m: InstanceMetadata, path: string): MetadataDocument | undefined {
  switch (path) {
    case "/meta-data": {
      const keys = keyNames(m).map((n) => `  - ${yaml(m.publicKeys[n]!)}`);
      return text(
        `instance-id: ${yaml(m.uuid)}\nlocal-hostname: ${yaml(m.hostname.split(".")[0]!)}\n${keys.length ? `public-keys:\n${keys.join("\n")}\n` : ""}`,
      );
    }
    case "/user-data":
      return { body: m.userData ?? "", contentType: "application/octet-stream" };
    case "/vendor-data":
      return text("");
    default:
      return undefined;
  }
}

/** Renders any supported path (`/openstack/...`, `/latest/...`, `/2009-04-04/...`, `/nocloud/...`). */
export function metadataDocument(m: InstanceMetadata, path: string): MetadataDocument | undefined {
  if (path === "/openstack" || path.startsWith("/openstack/")) return openstackDocument(m, path.slice("/openstack".length));
  if (path.startsWith("/nocloud/")) return nocloudDocument(m, path.slice("/nocloud".length));
  const ec2 = /^\/(latest|\d{4}-\d{2}-\d{2})(\/.*)?$/.exec(path);
  if (ec2) return ec2Document(m, ec2[2] ?? "");
  if (path === "/") return text("latest\nopenstack\nnocloud\n");
  return undefined;
}
