import { type Policy, type PolicyInput, policySchema, type ProjectPolicy, type ServiceAccountPolicy } from "../../../src/core/policy/schema.js";

type ProjectInput = PolicyInput["projects"][number];

/** A valid policy with one project `proj`, one service account `svc`, and prices for two deployments. */
export function limitsPolicy(project: Partial<ProjectInput> = {}, serviceAccountLimits: { requestsPerMinute?: number; tokensPerMinute?: number } = {}): Policy {
  return policySchema.parse({
    version: 1,
    projects: [{ id: "proj", residency: "eu", models: [{ name: "gpt-4o", deployment: "gpt4o-eu" }], ...project }],
    serviceAccounts: [{ id: "svc", project: "proj", permissions: ["chat.completions"], limits: serviceAccountLimits }],
    endpoints: [{ id: "aoai-eu", provider: "azure", baseUrl: "https://eu.example.invalid", region: "swedencentral", residency: "eu", class: "standard", deployments: ["gpt4o-eu", "mystery"] }],
    pricing: {
      "gpt4o-eu": { inputPer1M: 2.5, cachedInputPer1M: 1.25, outputPer1M: 10 },
      "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 },
    },
  } satisfies PolicyInput);
}

export function projectOf(policy: Policy): ProjectPolicy {
  const project = policy.projects[0];
  if (project === undefined) throw new Error("fixture has no project");
  return project;
}

export function serviceAccountOf(policy: Policy): ServiceAccountPolicy {
  const account = policy.serviceAccounts[0];
  if (account === undefined) throw new Error("fixture has no service account");
  return account;
}
