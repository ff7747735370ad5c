import { type Policy, type PolicyInput, policySchema } from "../../../src/core/policy/schema.js";

/** A small valid policy: projects billing and search, one member per role, three service accounts. */
export function testPolicy(overrides: Partial<PolicyInput> = {}): Policy {
  const input: PolicyInput = {
    version: 1,
    projects: [
      { id: "billing", residency: "eu", models: [{ name: "gpt-4o", deployment: "gpt4o-eu" }, { name: "gpt-4o-mini", deployment: "mini-eu" }] },
      { id: "search", residency: "us", models: [{ name: "gpt-4o-mini", deployment: "mini-eu" }] },
    ],
    members: [
      { principal: "11111111-1111-1111-1111-111111111111", displayName: "Olive Owner", roles: { billing: "owner", search: "reader" } },
      { principal: "reader@contoso.com", roles: { billing: "reader" } },
      { principal: "Member@Contoso.com", roles: { search: "member" } },
    ],
    serviceAccounts: [
      { id: "billing-app", project: "billing", permissions: ["chat.completions", "models.list"], ipAllowlist: ["10.0.0.0/8", "2001:db8::/32"] },
      { id: "billing-lister", project: "billing", permissions: ["models.list"] },
      { id: "search-app", project: "search", permissions: ["chat.completions"] },
    ],
    endpoints: [
      { id: "eu-1", provider: "azure", baseUrl: "https://eu.example.com", region: "westeurope", residency: "eu", class: "standard", deployments: ["gpt4o-eu", "mini-eu"] },
    ],
    ...overrides,
  };
  return policySchema.parse(input);
}
