/**
 * Runs one test body against every backend (chainfire, real etcd): one server per backend per
 * test file, started in beforeAll and stopped in afterAll, with a client on it.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { PhotonError } from "../../errors.ts";
import { EtcdClient, type EtcdClientOptions } from "../client.ts";
import { BACKENDS, type Backend } from "./backends.ts";

/** What a test body gets: the running backend and a client on it (set in beforeAll). */
export interface BackendContext {
  backend: Backend;
  client: EtcdClient;
  /** Another client on the same backend (extra options merged in). */
  newClient(options?: Partial<EtcdClientOptions>): EtcdClient;
  /** A key prefix unique to this call, e.g. `/t/3/`. */
  prefix(): string;
}

let counter = 0;

/** `describe(title [backend])` once per backend, skipped with a printed reason when unavailable. */
export function forEachBackend(title: string, body: (ctx: BackendContext) => void): void {
  for (const kind of BACKENDS) {
    describe.skipIf(kind.skip !== undefined)(`${title} [${kind.name}]`, () => {
      const clients: EtcdClient[] = [];
      const ctx = {
        prefix: () => `/t/${kind.name}/${++counter}/`,
        newClient: (options: Partial<EtcdClientOptions> = {}) => {
          const c = new EtcdClient({ endpoints: [ctx.backend.endpoint], ...options });
          clients.push(c);
          return c;
        },
      } as BackendContext;
      beforeAll(async () => {
        ctx.backend = await kind.start();
        ctx.client = ctx.newClient();
      });
      afterAll(async () => {
        for (const c of clients) c.close();
        await ctx.backend?.stop();
      });
      body(ctx);
    });
  }
}

/** The PhotonError `p` rejects with (fails the test when it resolves). */
export async function failure(p: Promise<unknown> | (() => unknown)): Promise<PhotonError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(PhotonError);
    return e as PhotonError;
  }
  throw new Error("expected a failure");
}

/** Polls `check` until it returns true or `ms` pass; returns the last result. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000, every = 50): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await Bun.sleep(every);
  }
}
