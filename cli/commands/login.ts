/**
 * `photon login [--user NAME] [--org ORG] [--project P] [--password-stdin | --credentials-file FILE]
 * [--iam-url URL] [--data-dir DIR] [-o json]`: logs in to iam and keeps the token under the
 * user's config directory (mode 0600). Without `--password-stdin` or a credentials file, the
 * password is read from the terminal without echo. The password is never printed.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { AdminCredentials } from "../../services/iam/bootstrap.ts";
import { IamClient } from "../../services/iam/client.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";
import { findIamUrl, saveLogin, toSavedLogin } from "./iam-session.ts";

async function readStdin(): Promise<string> {
  const text = await new Response(Bun.stdin.stream()).text();
  return text.replace(/\r?\n$/, "");
}

/** Reads a line from the terminal without echoing it. */
async function promptHidden(prompt: string, io: CommandIo): Promise<string> {
  if (!process.stdin.isTTY) throw usageError("no terminal to ask the password on: use --password-stdin or --credentials-file");
  io.stderr(prompt);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  let out = "";
  try {
    for await (const chunk of process.stdin) {
      for (const ch of String(chunk)) {
        if (ch === "\r" || ch === "\n") return out;
        if (ch === "\u0003") throw usageError("cancelled");
        if (ch === "\u007f") out = out.slice(0, -1);
        else out += ch;
      }
    }
    return out;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    io.stderr("\n");
  }
}

/** Runs `photon login`; resolves to the exit code. */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      options: {
        user: { type: "string", short: "u" },
        org: { type: "string" },
        project: { type: "string" },
        "password-stdin": { type: "boolean" },
        "credentials-file": { type: "string" },
        "iam-url": { type: "string" },
        "data-dir": { type: "string" },
        output: { type: "string", short: "o" },
      },
      strict: true,
    }).values;
  } catch (e) {
    return reportError(io, usageError((e as Error).message));
  }
  try {
    let user = flags.user;
    let password: string | undefined;
    let url: string | undefined = flags["iam-url"];
    if (flags["credentials-file"]) {
      let creds: AdminCredentials;
      try {
        creds = JSON.parse(readFileSync(flags["credentials-file"], "utf8")) as AdminCredentials;
      } catch (e) {
        throw usageError(`cannot read credentials file ${flags["credentials-file"]}: ${(e as Error).message}`);
      }
      user ??= creds.user;
      password = creds.password;
      url ??= creds.iamUrl;
    } else if (flags["password-stdin"]) {
      password = await readStdin();
    }
    if (!user) throw usageError("give --user NAME (or --credentials-file)");
    url = url ? url.replace(/\/$/, "") : await findIamUrl(flags);
    password ??= await promptHidden(`password for ${user}: `, io);
    const t = await new IamClient(url).login({ user, password, ...(flags.org ? { org: flags.org } : {}), ...(flags.project ? { project: flags.project } : {}) });
    const saved = toSavedLogin(url, user, t);
    const path = saveLogin(saved);
    if (flags.output === "json") io.stdout(JSON.stringify({ user, principal: t.principal, org: t.org, project: t.project, iamUrl: url, expiresAt: new Date(saved.expiresAt).toISOString(), credentials: path }) + "\n");
    else io.stdout(`logged in as ${user} (${t.principal}) at ${url}; token saved in ${path}\n`);
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
