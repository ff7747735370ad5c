import { describe, expect, it } from "vitest";
import { type AuthorizeInput, allowedModels, authorize, requestedProjectFromHeaders } from "../../../src/core/auth/authorize.js";
import { type Principal, type UserPrincipal } from "../../../src/core/auth/Principal.js";
import { type PalisadeError, isPalisadeError } from "../../../src/core/errors.js";
import { testPolicy } from "./policyFixture.js";

const policy = testPolicy();
const billingApp: Principal = { kind: "service-account", id: "billing-app", project: "billing", keyId: "k1" };
const user = (roles: UserPrincipal["roles"]): UserPrincipal => ({ kind: "user", id: "u1", roles });

function fails(input: Partial<AuthorizeInput> & { principal: Principal }): PalisadeError {
  try {
    authorize({ policy, permission: "chat.completions", clientIp: "10.1.2.3", ...input });
  } catch (error) {
    if (isPalisadeError(error)) return error;
    throw error;
  }
  throw new Error("expected authorize to throw");
}

describe("authorize: service accounts", () => {
  it("allows a declared account from an allowed address with the permission and model", () => {
    const context = authorize({ principal: billingApp, policy, permission: "chat.completions", clientIp: "10.1.2.3", model: "gpt-4o" });
    expect(context.project.id).toBe("billing");
    expect(context.serviceAccount?.id).toBe("billing-app");
    expect(context.role).toBeNull();
    expect(context.model).toEqual({ name: "gpt-4o", deployment: "gpt4o-eu" });
    expect(authorize({ principal: billingApp, policy, permission: "models.list", clientIp: "2001:db8::9", requestedProject: "billing" }).model).toBeUndefined();
  });

  it("refuses an address outside the allowlist, and an unknown address, with ip_not_allowed", () => {
    const outside = fails({ principal: billingApp, clientIp: "192.168.1.1" });
    expect([outside.status, outside.code]).toEqual([403, "ip_not_allowed"]);
    expect(outside.message).toContain("192.168.1.1");
    expect(fails({ principal: billingApp, clientIp: null }).code).toBe("ip_not_allowed");
    // An empty allowlist means any address.
    const lister: Principal = { kind: "service-account", id: "billing-lister", project: "billing", keyId: "k2" };
    expect(authorize({ principal: lister, policy, permission: "models.list", clientIp: null }).serviceAccount?.id).toBe("billing-lister");
  });

  it("refuses a missing permission with missing_permission", () => {
    const lister: Principal = { kind: "service-account", id: "billing-lister", project: "billing", keyId: "k2" };
    const error = fails({ principal: lister });
    expect([error.status, error.code]).toEqual([403, "missing_permission"]);
    expect(error.message).toContain("chat.completions");
  });

  it("refuses a key whose service account is not in the policy for its project", () => {
    const ghost: Principal = { kind: "service-account", id: "search-app", project: "billing", keyId: "k3" };
    const error = fails({ principal: ghost });
    expect(error.code).toBe("missing_permission");
    expect(error.message).toContain("not declared");
  });

  it("refuses another project than the key's own, and a project gone from the policy", () => {
    expect(fails({ principal: billingApp, requestedProject: "search" }).code).toBe("not_a_project_member");
    const orphan: Principal = { kind: "service-account", id: "billing-app", project: "gone", keyId: "k4" };
    expect(fails({ principal: orphan }).code).toBe("not_a_project_member");
  });

  it("refuses a model outside the project's allowlist and lists the allowed names", () => {
    const error = fails({ principal: billingApp, model: "gpt-5" });
    expect([error.status, error.code, error.param]).toEqual([403, "model_not_allowed", "model"]);
    expect(error.message).toContain("gpt-4o, gpt-4o-mini");
    expect(fails({ principal: billingApp, model: "x".repeat(500) }).message.length).toBeLessThan(300);
  });
});

describe("authorize: users", () => {
  it("lets owner, admin and member call completions; reader only list models", () => {
    for (const role of ["owner", "admin", "member"] as const) {
      expect(authorize({ principal: user({ billing: role }), policy, permission: "chat.completions", clientIp: null }).role).toBe(role);
    }
    const reader = user({ billing: "reader" });
    expect(authorize({ principal: reader, policy, permission: "models.list", clientIp: null }).role).toBe("reader");
    const error = fails({ principal: reader });
    expect([error.status, error.code]).toEqual([403, "insufficient_role"]);
    expect(error.message).toContain("reader");
  });

  it("uses the only project of a single-project user, and the named one otherwise", () => {
    expect(authorize({ principal: user({ search: "member" }), policy, permission: "chat.completions", clientIp: null }).project.id).toBe("search");
    const both = user({ billing: "member", search: "reader" });
    expect(authorize({ principal: both, policy, permission: "chat.completions", clientIp: null, requestedProject: "billing" }).project.id).toBe("billing");
    const ambiguous = fails({ principal: both });
    expect([ambiguous.status, ambiguous.code]).toEqual([400, "invalid_request"]);
    expect(ambiguous.message).toContain("OpenAI-Project");
  });

  it("answers not_a_project_member alike for a foreign project and an unknown one (no leak)", () => {
    const member = user({ search: "member" });
    const foreign = fails({ principal: member, requestedProject: "billing" });
    const unknown = fails({ principal: member, requestedProject: "billing-secret-x" });
    expect([foreign.code, unknown.code]).toEqual(["not_a_project_member", "not_a_project_member"]);
    expect(unknown.message.replace("billing-secret-x", "billing")).toBe(foreign.message);
    expect(fails({ principal: user({}) }).code).toBe("not_a_project_member");
    // Roles naming projects the policy no longer has do not count.
    expect(fails({ principal: user({ gone: "owner" }) }).code).toBe("not_a_project_member");
  });

  it("checks the model for users too", () => {
    expect(fails({ principal: user({ search: "member" }), model: "gpt-4o" }).message).toContain("Allowed models: gpt-4o-mini");
  });
});

describe("allowedModels and requestedProjectFromHeaders", () => {
  it("lists the project's models", () => {
    const context = authorize({ principal: billingApp, policy, permission: "models.list", clientIp: "10.0.0.1" });
    expect(allowedModels(context).map((model) => model.name)).toEqual(["gpt-4o", "gpt-4o-mini"]);
  });

  it("reads OpenAI-Project or x-palisade-project and refuses a disagreement", () => {
    const headers = (values: Record<string, string>) => (name: string) => values[name];
    expect(requestedProjectFromHeaders(headers({ "openai-project": "billing" }))).toBe("billing");
    expect(requestedProjectFromHeaders(headers({ "x-palisade-project": " search " }))).toBe("search");
    expect(requestedProjectFromHeaders(headers({}))).toBeNull();
    expect(requestedProjectFromHeaders(headers({ "openai-project": "a", "x-palisade-project": "a" }))).toBe("a");
    expect(() => requestedProjectFromHeaders(headers({ "openai-project": "a", "x-palisade-project": "b" }))).toThrow(/different projects/);
  });
});
