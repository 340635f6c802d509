import { describe, expect, it } from "bun:test";
import { buildTwoTenantFixture, crossTenantLeaks, expectCrossTenantDenied } from "../../../tests/support/cross-tenant-matrix.ts";
import { IAM_ACTIONS } from "../actions.ts";

describe("cross-tenant denial matrix", () => {
  it("denies every iam action to every principal of one tenant on every resource of the other", () => {
    const fx = buildTwoTenantFixture();
    const { attempts } = expectCrossTenantDenied({ authorize: (r) => fx.authorizer.authorize(r), pairs: fx.pairs, actions: IAM_ACTIONS });
    expect(attempts).toBeGreaterThan(5_000);
  });

  it("works with another service's actions", () => {
    const fx = buildTwoTenantFixture();
    expectCrossTenantDenied({ authorize: (r) => fx.authorizer.authorize(r), pairs: fx.pairs, actions: ["compute:vm:get", "compute:vm:delete", "s3:bucket:list", "dns:record:update"] });
  });

  it("reports a leak when tenants are not isolated", () => {
    const fx = buildTwoTenantFixture();
    const globexUser = fx.pairs[0]![1].principals[0]!;
    const acmeOrg = fx.pairs[0]![0].scopes[0]!.org;
    const leaky = (r: Parameters<typeof fx.authorizer.authorize>[0]) =>
      r.principal === globexUser && r.resource.org === acmeOrg ? { allowed: true, reason: "bug" } : fx.authorizer.authorize(r);
    const { leaks } = crossTenantLeaks({ authorize: leaky, pairs: fx.pairs, actions: ["compute:vm:get"] });
    expect(leaks.length).toBe(4);
    expect(leaks[0]).toMatchObject({ principal: globexUser, from: "globex", to: "acme", action: "compute:vm:get" });
  });

  it("lets the system admin everywhere (the fixture's control)", () => {
    const fx = buildTwoTenantFixture();
    const scope = fx.pairs[0]![1].scopes[1]!;
    expect(fx.authorizer.authorize({ principal: fx.systemAdmin, action: "iam:binding:create", resource: scope }).allowed).toBe(true);
  });
});
