import { type ReserveInput } from "../../../src/core/limits/LimitGuard.js";
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

/**
 * A reservation for the fixture's project: 100 prompt tokens and 50 of output on gpt-4o, with key-1,
 * by the fixture's service account (`withServiceAccount: false` leaves it out). Overrides win.
 */
export function reserveInputFor(policy: Policy, options: { readonly withServiceAccount?: boolean } = {}) {
  return (overrides: Partial<ReserveInput> = {}): ReserveInput => ({
    project: projectOf(policy),
    serviceAccount: options.withServiceAccount === false ? null : serviceAccountOf(policy),
    keyId: "key-1",
    model: "gpt-4o",
    deployment: "gpt4o-eu",
    estimatedPromptTokens: 100,
    maxOutputTokens: 50,
    ...overrides,
  });
}
