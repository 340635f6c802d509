import { afterAll, describe, expect, it } from "bun:test";
import { fetchForImport } from "./import-fetch.ts";
import { ImportPolicy } from "./import-policy.ts";

const codeOf = async (p: Promise<unknown>) => p.then(() => "ok", (e) => (e as { code?: string }).code ?? String(e));

describe("fetchForImport", () => {
  const seen: string[] = [];
  const other: string[] = [];
  const files = Bun.serve({
    hostname: "127.0.0.1", port: 0,
    fetch: (req) => {
      const u = new URL(req.url);
      seen.push(`${req.headers.get("host")} ${u.pathname}`);
      if (u.pathname === "/disk") return new Response("DISK");
      if (u.pathname === "/to-disk") return Response.redirect("/disk", 302);
      if (u.pathname === "/to-other") return Response.redirect(`http://127.0.0.2:${otherServer.port}/secret`, 302);
      if (u.pathname === "/to-metadata") return Response.redirect("http://169.254.169.254/latest/meta-data/", 301);
      if (u.pathname === "/to-file") return Response.redirect("file:///etc/passwd", 302);
      if (u.pathname === "/loop") return Response.redirect("/loop", 302);
      return new Response("no", { status: 404 });
    },
  });
  const otherServer = Bun.serve({ hostname: "127.0.0.2", port: 0, fetch: (req) => (other.push(req.url), new Response("SECRET")) });
  afterAll(() => {
    files.stop(true);
    otherServer.stop(true);
  });
  const allowed = new ImportPolicy({ allow: ["127.0.0.1/32"] });
  const base = `http://127.0.0.1:${files.port}`;

  it("fetches from an allowed address and follows a redirect to an allowed one", async () => {
    const r = await fetchForImport(new URL(`${base}/to-disk`), allowed);
    expect(await new Response(r.body).text()).toBe("DISK");
    expect(r.url.pathname).toBe("/disk");
    expect(r.length).toBe(4);
  });

  it("refuses redirects to forbidden addresses before connecting there", async () => {
    expect(await codeOf(fetchForImport(new URL(`${base}/to-other`), allowed))).toBe("PLASMAVMC:ImportForbidden");
    expect(await codeOf(fetchForImport(new URL(`${base}/to-metadata`), allowed))).toBe("PLASMAVMC:ImportForbidden");
    expect(await codeOf(fetchForImport(new URL(`${base}/to-file`), allowed))).toBe("PLASMAVMC:InvalidArgument");
    expect(await codeOf(fetchForImport(new URL(`${base}/loop`), allowed))).toBe("PLASMAVMC:InvalidArgument");
    expect(other).toEqual([]);
  });

  it("answers HTTP errors with the status", async () => {
    const e = await fetchForImport(new URL(`${base}/nope`), allowed).catch((x) => x as Error);
    expect((e as Error).message).toContain("HTTP 404");
  });

  it("connects to the address it checked, not to a second DNS answer (rebinding)", async () => {
    let calls = 0;
    const rebinding = new ImportPolicy({
      allow: ["127.0.0.1/32"],
      resolve: async () => (++calls === 1 ? [{ address: "127.0.0.1", family: 4 }] : [{ address: "169.254.169.254", family: 4 }]),
    });
    seen.length = 0;
    const r = await fetchForImport(new URL(`http://rebind.test:${files.port}/disk`), rebinding);
    expect(await new Response(r.body).text()).toBe("DISK");
    expect(calls).toBe(1);
    expect(seen).toEqual([`rebind.test:${files.port} /disk`]);
  });
});
