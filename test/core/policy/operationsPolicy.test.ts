import { describe, expect, it } from "vitest";
import { chatPolicyOf, embeddingsPolicyOf, endpointServes, operationKindOf, responsesPolicyOf } from "../../../src/core/policy/operationsPolicy.js";
import { policySchema } from "../../../src/core/policy/schema.js";

const base = {
  version: 1,
  projects: [{ id: "acme", residency: "eu", models: [{ name: "embed", deployment: "text-embedding-3-small" }] }],
  endpoints: [{ id: "e1", provider: "azure", baseUrl: "https://e1.openai.azure.com", region: "westeurope", residency: "eu", class: "standard", deployments: ["text-embedding-3-small"], operations: ["embeddings"] }],
};

describe("operation settings in the policy", () => {
  it("reads an endpoint's operations and a project's responses and embeddings settings, with safe defaults", () => {
    const parsed = policySchema.parse(base);
    expect(endpointServes(parsed.endpoints[0] ?? {}, "embeddings")).toBe(true);
    expect(endpointServes(parsed.endpoints[0] ?? {}, "chat")).toBe(false);
    const project = parsed.projects[0];
    expect(project && responsesPolicyOf(project)).toEqual({ store: "deny", hostedTools: [], mcpServers: [] });
    expect(project && embeddingsPolicyOf(project)).toEqual({ tokenInput: "deny", maxInputs: 2048 });
    const allowing = policySchema.parse({ ...base, projects: [{ ...base.projects[0], responses: { store: "allow" }, embeddings: { tokenInput: "allow" } }] });
    expect(allowing.projects[0] && responsesPolicyOf(allowing.projects[0]).store).toBe("allow");
    expect(allowing.projects[0] && embeddingsPolicyOf(allowing.projects[0]).tokenInput).toBe("allow");
  });

  it("refuses unknown operations and store values", () => {
    expect(policySchema.safeParse({ ...base, endpoints: [{ ...base.endpoints[0], operations: ["images"] }] }).success).toBe(false);
    expect(policySchema.safeParse({ ...base, endpoints: [{ ...base.endpoints[0], operations: [] }] }).success).toBe(false);
    expect(policySchema.safeParse({ ...base, projects: [{ ...base.projects[0], responses: { store: "sometimes" } }] }).success).toBe(false);
  });

  it("chat.dataSources: none by default; each entry a type and host names (no scheme, path or upper case)", () => {
    const project = policySchema.parse(base).projects[0];
    expect(project && chatPolicyOf(project)).toEqual({ dataSources: [] });
    const withSources = (dataSources: unknown) => policySchema.safeParse({ ...base, projects: [{ ...base.projects[0], chat: { dataSources } }] }).success;
    expect(withSources([{ type: "azure_search", hosts: ["contoso-eu.search.windows.net"] }])).toBe(true);
    expect(withSources([{ type: "azure_search", hosts: ["https://contoso-eu.search.windows.net"] }])).toBe(false);
    expect(withSources([{ type: "azure_search", hosts: ["Contoso.search.windows.net"] }])).toBe(false);
    expect(withSources([{ type: "azure_search", hosts: ["contoso.search.windows.net/x"] }])).toBe(false);
    expect(withSources([{ type: "azure_search", hosts: [] }])).toBe(false);
    expect(withSources([{ type: "azure_search" }])).toBe(false);
  });

  it("prices an embeddings model per 1M input tokens, with no output cost", () => {
    const parsed = policySchema.parse({ ...base, pricing: { "text-embedding-3-small": { embeddingsPer1M: 0.02 }, chat: { inputPer1M: 1, outputPer1M: 2 } } });
    expect(parsed.pricing["text-embedding-3-small"]).toMatchObject({ inputPer1M: 0.02, outputPer1M: 0 });
    expect(parsed.pricing.chat).toMatchObject({ inputPer1M: 1, outputPer1M: 2 });
    expect(policySchema.safeParse({ ...base, pricing: { x: { embeddingsPer1M: 0.02, outputPer1M: 1 } } }).success).toBe(false);
  });

  it("maps pipeline operation names to what endpoints declare", () => {
    expect(operationKindOf("chat.completions")).toBe("chat");
    expect(operationKindOf("embeddings")).toBe("embeddings");
    expect(operationKindOf("responses")).toBe("responses");
  });
});
