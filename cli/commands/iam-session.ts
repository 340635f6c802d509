/**
 * What the iam commands share: finding iam (`--iam-url`, the saved login, or the running node's
 * status), the saved login under the user's config directory (`$XDG_CONFIG_HOME/photon/
 * credentials.json`, else `~/.config/photon/credentials.json`, mode 0600), and a client that
 * refreshes an expiring access token on its own.
 */
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../../lib/data-dir.ts";
import { PhotonError } from "../../lib/errors.ts";
import { IamClient } from "../../services/iam/client.ts";
import type { TokenResponse } from "../../services/iam/types.ts";
import { findComponentUrl } from "../component-url.ts";

/** The saved login. */
export interface SavedLogin {
  iamUrl: string;
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms. */
  expiresAt: number;
  principal: string;
  user: string;
  org?: string;
  project?: string;
}

/** Where the saved login lives. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "photon", "credentials.json");
}

/** The saved login, or undefined. */
export function readSavedLogin(): SavedLogin | undefined {
  try {
    return JSON.parse(readFileSync(credentialsPath(), "utf8")) as SavedLogin;
  } catch {
    return undefined;
  }
}

/** Saves a login (directory 0700, file 0600). */
export function saveLogin(login: SavedLogin): string {
  const path = credentialsPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, JSON.stringify(login, null, 2) + "\n", 0o600);
  chmodSync(path, 0o600);
  return path;
}

/** A saved login from a token response. */
export function toSavedLogin(iamUrl: string, user: string, t: TokenResponse): SavedLogin {
  return {
    iamUrl,
    accessToken: t.accessToken,
    ...(t.refreshToken ? { refreshToken: t.refreshToken } : {}),
    expiresAt: Date.now() + t.expiresIn * 1000,
    principal: t.principal,
    user,
    ...(t.org ? { org: t.org } : {}),
    ...(t.project ? { project: t.project } : {}),
  };
}

/**
 * iam's URL: `--iam-url`, else the running node's status (its iam component's `http`
 * endpoint), else the configured port on loopback.
 */
export function findIamUrl(flags: { "iam-url"?: string; "data-dir"?: string }): Promise<string> {
  return findComponentUrl({ component: "iam", endpoint: "http", flag: flags["iam-url"], dataDir: flags["data-dir"], configuredPort: (c) => c.iam.http_port });
}

/**
 * A client with the saved login's token (refreshed first when it expires within a minute), at
 * `--iam-url` if given.
 * @throws CLI:NotLoggedIn when there is no saved login.
 */
export async function sessionClient(flags: { "iam-url"?: string }): Promise<{ client: IamClient; login: SavedLogin }> {
  let login = readSavedLogin();
  if (!login) throw new PhotonError("CLI:NotLoggedIn", "not logged in: run `photon login` first", { grpc: 16 });
  const url = flags["iam-url"]?.replace(/\/$/, "") ?? login.iamUrl;
  if (login.expiresAt - Date.now() < 60_000 && login.refreshToken) {
    const t = await new IamClient(url).refresh(login.refreshToken);
    login = toSavedLogin(url, login.user, t);
    saveLogin(login);
  }
  return { client: new IamClient(url, login.accessToken), login };
}
