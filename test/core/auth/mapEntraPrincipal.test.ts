import { describe, expect, it } from "vitest";
import { mapEntraPrincipal, parseAppRole } from "../../../src/core/auth/mapEntraPrincipal.js";
import { type VerifiedClaims } from "../../../src/core/auth/TokenVerifier.js";
import { testPolicy } from "./policyFixture.js";

const claims = (overrides: Partial<VerifiedClaims> = {}): VerifiedClaims => ({
  subject: "sub-1",
  objectId: null,
  tenantId: null,
  names: [],
  displayName: null,
  roles: [],
  appId: null,
  expiresAtInSeconds: 0,
  ...overrides,
});

describe("parseAppRole", () => {
  it.each([
    ["billing.member", { project: "billing", role: "member" }],
    ["billing.owner", { project: "billing", role: "owner" }],
    ["my-proj.reader", { project: "my-proj", role: "reader" }],
    ["a.b.admin", null],
    ["billing.superuser", null],
    ["billing", null],
    [".member", null],
    ["Billing.member", null],
    ["Task.Read", null],
  ])("%s", (value, expected) => {
    expect(parseAppRole(value)).toEqual(expected);
  });
});

describe("mapEntraPrincipal", () => {
  const policy = testPolicy();

  it("matches a member by object id, case-insensitively", () => {
    const user = mapEntraPrincipal(claims({ objectId: "11111111-1111-1111-1111-111111111111".toUpperCase() }), policy);
    expect(user.roles).toEqual({ billing: "owner", search: "reader" });
    expect(user.displayName).toBe("Olive Owner");
  });

  it("matches a member by upn / preferred_username / email, case-insensitively", () => {
    expect(mapEntraPrincipal(claims({ objectId: "oid-x", names: ["member@contoso.com"] }), policy).roles).toEqual({ search: "member" });
    expect(mapEntraPrincipal(claims({ names: ["someone@else.com", "READER@contoso.com"] }), policy).roles).toEqual({ billing: "reader" });
  });

  it("grants app roles <project>.<role> for known projects only; the strongest role wins", () => {
    const user = mapEntraPrincipal(claims({ names: ["reader@contoso.com"], roles: ["billing.admin", "search.reader", "ghost.owner", "Task.Read"] }), policy);
    expect(user.roles).toEqual({ billing: "admin", search: "reader" });
    const owner = mapEntraPrincipal(claims({ objectId: "11111111-1111-1111-1111-111111111111", roles: ["billing.reader"] }), policy);
    expect(owner.roles.billing).toBe("owner");
  });

  it("gives an application (client credentials, no names) its app roles", () => {
    const app = mapEntraPrincipal(claims({ objectId: "sp-oid", roles: ["search.member"], appId: "app" }), policy);
    expect(app).toEqual({ kind: "user", id: "sp-oid", roles: { search: "member" } });
  });

  it("picks the id: oid, else the first name, else sub; and no roles when nothing matches", () => {
    expect(mapEntraPrincipal(claims({ objectId: "oid" }), policy).id).toBe("oid");
    expect(mapEntraPrincipal(claims({ names: ["x@y.z"], displayName: "X" }), policy)).toEqual({ kind: "user", id: "x@y.z", displayName: "X", roles: {} });
    expect(mapEntraPrincipal(claims(), policy).id).toBe("sub-1");
  });
});
