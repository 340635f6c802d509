/**
 * iam benchmarks: in-process authorisation decisions (lib/authz) over a model of 10 000 bindings
 * and 1 000 groups, and access-token issue and verification (EdDSA via jose).
 *
 *   npx bun bench/iam/authorize.bench.ts            # N=1000000 decisions per measured loop
 *
 * Prints mitata's table, then decisions/s over a loop of N mixed requests, per-decision latency
 * percentiles (each call timed with Bun.nanoseconds(); the timer's own cost is printed too), the
 * cost of the first decision of a principal (its view is built lazily), index build time, and
 * token issues/s and verifications/s.
 */
import { bench, do_not_optimize, run } from "mitata";
import { Authorizer } from "../../lib/authz/authorizer.ts";
import type { AuthorizeRequest } from "../../lib/authz/types.ts";
import { AccessTokenIssuer, AccessTokenVerifier } from "../../services/iam/tokens/access-token.ts";
import { SigningKeyRing } from "../../services/iam/tokens/key-ring.ts";
import { buildWorkload, SIZES } from "./workload.ts";

const N = Number(process.env.N ?? 1_000_000);
const ns = () => Bun.nanoseconds();
const pct = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

let t = ns();
const { model, requests } = buildWorkload(100_000);
const buildModelMs = (ns() - t) / 1e6;
const snapshot = model.snapshot();
t = ns();
const authz = new Authorizer(snapshot);
const buildIndexMs = (ns() - t) / 1e6;

// Cold decisions: the first decision of each principal builds its view.
const seen = new Set<string>();
const cold: number[] = [];
for (const r of requests) {
  if (seen.has(r.principal)) continue;
  seen.add(r.principal);
  const t0 = ns();
  do_not_optimize(authz.authorize(r));
  cold.push(ns() - t0);
}
const coldSorted = Float64Array.from(cold).sort();

let allowed = 0;
for (const r of requests) if (authz.authorize(r).allowed) allowed++;

let i = 0;
const next = (): AuthorizeRequest => requests[i++ % requests.length]!;
bench("authorize (mixed requests, warm)", () => do_not_optimize(authz.authorize(next())));
const fixed = requests.find((r) => authz.authorize(r).allowed)!;
bench("authorize (one allowed request)", () => do_not_optimize(authz.authorize(fixed)));

const ring = await SigningKeyRing.generate();
const issuer = new AccessTokenIssuer({ ring, issuer: "https://iam.bench" });
const verifier = new AccessTokenVerifier({ jwks: ring.jwks(), issuer: "https://iam.bench" });
const claims = { sub: "usr_1", pk: "user" as const, org: "org_1", project: "prj_1" };
const { token } = await issuer.issue(claims);
bench("access token issue (EdDSA)", async () => do_not_optimize(await issuer.issue(claims)));
bench("access token verify (EdDSA)", async () => do_not_optimize(await verifier.verify(token)));

await run();

// Throughput: N decisions back to back.
i = 0;
t = ns();
for (let k = 0; k < N; k++) do_not_optimize(authz.authorize(next()));
const perSecond = N / ((ns() - t) / 1e9);

// Latency: each decision timed on its own.
const lat = new Float64Array(N);
i = 0;
for (let k = 0; k < N; k++) {
  const r = next();
  const t0 = ns();
  do_not_optimize(authz.authorize(r));
  lat[k] = ns() - t0;
}
lat.sort();
const timer = new Float64Array(200_000);
for (let k = 0; k < timer.length; k++) {
  const t0 = ns();
  timer[k] = ns() - t0;
}
timer.sort();

async function rate(fn: () => Promise<unknown>, count: number): Promise<number> {
  const t0 = ns();
  for (let k = 0; k < count; k++) await fn();
  return count / ((ns() - t0) / 1e9);
}
const issues = await rate(() => issuer.issue(claims), 20_000);
const verifies = await rate(() => verifier.verify(token), 20_000);

// A model change: one binding created and deleted, applied in place vs the whole snapshot rebuilt.
const orgId = model.list("org")[0]!.id;
const someUser = model.list("user")[0]!.id;
const inPlace: number[] = [];
const rebuild: number[] = [];
for (let k = 0; k < 50; k++) {
  const b = model.createBinding({ principal: someUser, role: "dns.admin", scope: { kind: "org", id: orgId } });
  let t0 = ns();
  authz.applyChanges({ putBindings: [b] }, k);
  inPlace.push(ns() - t0);
  t0 = ns();
  authz.update(model.snapshot(k));
  rebuild.push(ns() - t0);
  model.deleteBinding(b.id);
  t0 = ns();
  authz.applyChanges({ removedBindings: [b.id] }, k);
  inPlace.push(ns() - t0);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const us = (v: number) => `${(v / 1000).toFixed(2)} µs`;
console.log(`\nmodel: ${SIZES.orgs} orgs, ${SIZES.orgs * SIZES.projectsPerOrg} projects, ${SIZES.users} users, ${SIZES.groups} groups, ${SIZES.bindings} bindings, ${SIZES.denies} denies`);
console.log(`model build ${buildModelMs.toFixed(0)} ms; index build ${buildIndexMs.toFixed(1)} ms; ${((allowed / requests.length) * 100).toFixed(1)}% of the request mix allowed`);
console.log(`| measure | value |\n|---|---|`);
console.log(`| decisions/s (warm, ${N} mixed requests) | ${Math.round(perSecond).toLocaleString("en")} |`);
console.log(`| decision latency p50 / p99 / p99.9 / max (timed singly) | ${us(pct(lat, 0.5))} / ${us(pct(lat, 0.99))} / ${us(pct(lat, 0.999))} / ${us(lat[lat.length - 1]!)} |`);
console.log(`| timer overhead p50 / p99 | ${us(pct(timer, 0.5))} / ${us(pct(timer, 0.99))} |`);
console.log(`| first decision of a principal (cold view) p50 / p99 (${cold.length} principals) | ${us(pct(coldSorted, 0.5))} / ${us(pct(coldSorted, 0.99))} |`);
console.log(`| a binding created or deleted: applied in place / whole snapshot rebuilt (median) | ${us(med(inPlace))} / ${(med(rebuild) / 1e6).toFixed(1)} ms |`);
console.log(`| access token issues/s (sequential) | ${Math.round(issues).toLocaleString("en")} |`);
console.log(`| access token verifications/s (sequential) | ${Math.round(verifies).toLocaleString("en")} |`);
